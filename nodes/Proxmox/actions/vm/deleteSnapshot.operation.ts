import { makeDeleteSnapshot } from '../guest/snapshots.ts';

export const { description, execute } = makeDeleteSnapshot('vm');
