import { makeResize } from '../guest/resize.ts';

export const { description, execute } = makeResize('vm');
