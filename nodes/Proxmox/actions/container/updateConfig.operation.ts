import { makeUpdateConfig } from '../guest/updateConfig.ts';

export const { description, execute } = makeUpdateConfig('container');
