import { makeRollbackSnapshot } from '../guest/snapshots.ts';

export const { description, execute } = makeRollbackSnapshot('container');
