import { makeGetStatus } from '../guest/getStatus.ts';

export const { description, execute } = makeGetStatus('vm');
