import { makeListSnapshots } from '../guest/snapshots.ts';

export const { description, execute } = makeListSnapshots('container');
