import { makePower } from '../guest/power.ts';

export const { description, execute } = makePower('vm', 'reboot');
