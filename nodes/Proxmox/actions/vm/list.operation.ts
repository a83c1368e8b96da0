import { makeList } from '../guest/list.ts';

export const { description, execute } = makeList('vm');
