import { makeGetConfig } from '../guest/getConfig.ts';

export const { description, execute } = makeGetConfig('vm');
