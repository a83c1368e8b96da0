import { makeCreateSnapshot } from '../guest/snapshots.ts';

export const { description, execute } = makeCreateSnapshot('vm');
