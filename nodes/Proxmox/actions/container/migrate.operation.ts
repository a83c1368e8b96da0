import { makeMigrate } from '../guest/migrate.ts';

export const { description, execute } = makeMigrate('container');
