import { makeClone } from '../guest/clone.ts';

export const { description, execute } = makeClone('container');
