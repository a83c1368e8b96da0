// pino JSON logs. Every logged object passes through redactSecrets, so a secret-looking
// key is masked at any depth, whatever the caller logs (handoff data included).

import { pino, stdSerializers, type Logger, type DestinationStream } from 'pino';
import { redactSecrets } from './domain/redact.ts';

export type { Logger };

function serializeErrors(object: Record<string, unknown>): Record<string, unknown> {
  let copy: Record<string, unknown> | null = null;
  for (const [key, value] of Object.entries(object)) {
    if (value instanceof Error) (copy ??= { ...object })[key] = stdSerializers.err(value);
  }
  return copy ?? object;
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'cortex' },
    formatters: {
      // Errors first become plain objects (type, message, stack, …): redactSecrets copies
      // own enumerable keys only and would log an Error as {}.
      log: (object: Record<string, unknown>) => redactSecrets(serializeErrors(object)),
    },
    // Already serialized above; pino's own pass would retype them as "Object".
    serializers: { err: (value: unknown) => value },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[REDACTED]' },
  };
  return destination ? pino(options, destination) : pino(options);
}
