import { makeCreate } from '../guest/create.ts';

export const { description, execute } = makeCreate('vm');
