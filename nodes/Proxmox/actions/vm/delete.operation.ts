import { makeDelete } from '../guest/delete.ts';

export const { description, execute } = makeDelete('vm');
