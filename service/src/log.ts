// pino JSON logs. Every logged object passes through redactSecrets, so a secret-looking
// key is masked at any depth, whatever the caller logs (handoff data included).

import { pino, type Logger, type DestinationStream } from 'pino';
import { redactSecrets } from './domain/redact.ts';

export type { Logger };

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'cortex' },
    formatters: {
      log: (object: Record<string, unknown>) => redactSecrets(object),
    },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[REDACTED]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
