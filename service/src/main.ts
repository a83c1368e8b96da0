// Entry point: configuration from the environment, the service, and signals.

import { ConfigError, loadConfig } from './config.ts';
import { startService } from './service.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cortex: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const service = await startService(config);
  const shutdown = (signal: string) => {
    service.logger.info({ signal }, 'signal received');
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        service.logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`cortex: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
