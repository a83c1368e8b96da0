import { makeRegenerateCloudInit } from '../guest/regenerateCloudInit.ts';

export const { description, execute } = makeRegenerateCloudInit();
