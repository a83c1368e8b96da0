// Composition: config → store → domain → loops → HTTP server, and the orderly stop.

import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { systemClock, type Clock } from './domain/principal.ts';
import { HandoffService } from './domain/handoffs.ts';
import { RunService } from './domain/runs.ts';
import { ApprovalService } from './domain/approvals.ts';
import { ApprovalLinks } from './domain/approval-links.ts';
import { SqliteStore } from './store/sqlite/sqlite-store.ts';
import { PostgresStore } from './store/postgres/postgres-store.ts';
import type { Store } from './store/store.ts';
import { Loop } from './loops/supervisor.ts';
import { createTimeoutSweep } from './loops/timeout-sweeper.ts';
import { createOutboxRelay } from './loops/outbox-relay.ts';
import { withWakeUps } from './loops/wake-ups.ts';
import { TokenAuthenticator } from './http/auth.ts';
import { createTelemetry } from './http/prometheus.ts';
import { createApp } from './http/app.ts';

export const SERVICE_VERSION = '0.1.0';

/** See SweeperDeps.coalesceMs: the lateness it may add, for firings that commit together. */
const SQLITE_TIMER_COALESCE_MS = 10;

export interface RunningService {
  url: string;
  port: number;
  store: Store;
  logger: Logger;
  /** Runs the loops once now (tests). */
  sweepNow(): Promise<void>;
  relayNow(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  logger?: Logger;
  clock?: Clock;
  store?: Store;
}

/**
 * A secret made once and kept beside the database (mode 0600) when `configured` is not set.
 * On PostgreSQL nothing else lives in that directory; it is made for the file.
 */
function keptSecret(configured: string | null, config: Config, logger: Logger, name: string, bytes: number, warning: string): string {
  if (configured) return configured;
  const file = join(dirname(config.databasePath), name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(bytes).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  logger.warn({ file }, warning);
  return secret;
}

/** The admin token: configured, or made once and kept beside the database. */
const adminToken = (config: Config, logger: Logger): string =>
  keptSecret(config.adminToken, config, logger, 'admin-token', 24, 'no CORTEX_ADMIN_TOKEN configured: generated an admin token and wrote it to this file');

/**
 * The approval links' HMAC key: configured, or made once and kept beside the database.
 * Replicas must share it: set CORTEX_APPROVAL_LINK_SECRET on all of them.
 */
const approvalLinkSecret = (config: Config, logger: Logger): string =>
  keptSecret(config.approvalLinkSecret, config, logger, 'approval-link-secret', 32, 'no CORTEX_APPROVAL_LINK_SECRET configured: generated one and wrote it to this file');

async function openStore(config: Config): Promise<Store> {
  if (config.databaseUrl) {
    // PostgreSQL: several replicas may share the schema (migrations run under an advisory lock).
    return PostgresStore.open(config.databaseUrl, { schema: config.databaseSchema, poolSize: config.databasePoolSize });
  }
  if (config.databasePath !== ':memory:') mkdirSync(dirname(config.databasePath), { recursive: true });
  return SqliteStore.open(config.databasePath);
}

export async function startService(config: Config, options: ServiceOptions = {}): Promise<RunningService> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await openStore(config));
  await store.migrate();

  const telemetry = createTelemetry();
  const authenticator = new TokenAuthenticator([
    { name: 'admin', token: adminToken(config, logger), role: 'admin' },
    ...config.tokens,
  ]);

  // The loops are created below; the store wakes them through these late-bound calls.
  let sweeper: Loop | null = null;
  let relayLoop: Loop | null = null;
  const wakingStore = withWakeUps(store, {
    timerArmed: (dueAt) => sweeper?.wake(dueAt),
    eventsWritten: () => relayLoop?.wake(),
  });
  const handoffs = new HandoffService(wakingStore, clock, telemetry.observer);
  const runs = new RunService(wakingStore, clock, telemetry.observer);
  const approvals = new ApprovalService(wakingStore, clock, telemetry.observer, config.approverGroups);
  // The listen URL is known once the server listens; links are made per request.
  let listenUrl = '';
  const publicUrl = () => config.publicUrl ?? listenUrl;
  const approvalLinks = new ApprovalLinks(approvalLinkSecret(config, logger), publicUrl);

  sweeper = new Loop({
    name: 'timeout-sweeper',
    intervalMs: config.sweepIntervalMs,
    logger,
    tick: createTimeoutSweep({
      store: wakingStore,
      handoffs,
      runs,
      approvals,
      clock,
      logger,
      batchSize: config.timerBatch,
      leaseMs: config.timerLeaseMs,
      // PostgreSQL overlaps the firings' transactions; on SQLite the firings in flight
      // commit together (the store's group commit), one transaction per turn.
      concurrency: config.timerConcurrency ?? (store.kind === 'postgres' ? 8 : 32),
      // Deadlines falling due within 10 ms of each other fire in one tick and one commit.
      coalesceMs: store.kind === 'sqlite' ? SQLITE_TIMER_COALESCE_MS : 0,
    }),
  });
  const relay = createOutboxRelay({
    store: wakingStore,
    clock,
    logger,
    timeoutMs: config.deliveryTimeoutMs,
    concurrency: config.deliveryConcurrency,
    backoffBaseMs: config.deliveryBackoffMs,
    onDelivery: (outcome) => telemetry.delivery(outcome),
  });
  relayLoop = new Loop({ name: 'outbox-relay', intervalMs: config.relayIntervalMs, logger, tick: relay.tick });
  const loops = { sweeper, relayLoop };

  let accepting = false;
  const app = createApp({
    store: wakingStore,
    clock,
    logger,
    telemetry,
    handoffs,
    runs,
    approvals,
    approvalLinks,
    publicUrl,
    authenticator,
    bodyLimit: config.bodyLimit,
    version: SERVICE_VERSION,
    isAccepting: () => accepting,
  });
  const server: Server = config.tls
    ? createHttpsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, app)
    : createHttpServer(app);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${config.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  listenUrl = url;
  loops.sweeper.start();
  loops.relayLoop.start();
  accepting = true;
  logger.info({ url, store: store.kind }, 'cortex service listening');

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      accepting = false;
      logger.info('stopping: no new connections; finishing requests in flight and the loops\' ticks');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await Promise.all([loops.sweeper.stop(), loops.relayLoop.stop()]);
      relay.close();
      await store.close();
      logger.info('stopped');
    })());

  return {
    url,
    port,
    store,
    logger,
    sweepNow: () => loops.sweeper.runOnce(),
    relayNow: () => loops.relayLoop.runOnce(),
    stop,
  };
}
