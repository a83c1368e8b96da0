// Test harness: a real Cortex service on loopback with a real SQLite file, either in
// this process (fast; logs captured) or as a child process (for kill -9 and signals).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../service/src/config.ts';
import { createLogger } from '../../service/src/log.ts';
import { startService, type RunningService } from '../../service/src/service.ts';
import type { Clock } from '../../service/src/domain/principal.ts';

export const ADMIN_TOKEN = 'admin-token-for-tests-0001';
export const TOKENS = {
  'infrastructure-contractor': 'infra-token-for-tests-0001',
  'talos-contractor': 'talos-token-for-tests-00001',
  'n8n-contractor': 'n8n-token-for-tests-0000001',
  'security-master': 'security-token-for-tests-01',
} as const;
export type ContractorName = keyof typeof TOKENS;

export const tokenFor = (who: ContractorName | 'admin'): string => (who === 'admin' ? ADMIN_TOKEN : TOKENS[who]);

export function tokenEnv(): Record<string, string> {
  return {
    CORTEX_ADMIN_TOKEN: ADMIN_TOKEN,
    CORTEX_CONTRACTOR_TOKENS: Object.entries(TOKENS)
      .map(([name, token]) => `${name}=${token}`)
      .join(','),
  };
}

export function tempDir(prefix = 'cortex-test-'): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export interface RequestOptions {
  as?: ContractorName | 'admin' | null;
  body?: unknown;
  /** Sent as-is instead of JSON.stringify(body). */
  raw?: string;
  headers?: Record<string, string>;
  /** Abort the request after this many ms. */
  timeoutMs?: number;
}

/** One HTTP request with fetch; JSON in and out. `as: null` sends no token. */
export async function call(baseUrl: string, method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const who = options.as === undefined ? 'admin' : options.as;
  if (who !== null) headers.authorization ??= `Bearer ${tokenFor(who)}`;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const response = await fetch(baseUrl + path, { method, headers, body, signal });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed, headers: response.headers, text };
}

export interface TestService {
  url: string;
  dir: string;
  databasePath: string;
  service: RunningService;
  /** Every log line the service wrote, as raw JSON text. */
  logs: string[];
  call(method: string, path: string, options?: RequestOptions): Promise<Reply>;
  /** Stops and starts again on the same database file (same port not guaranteed). */
  restart(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  /** The service's clock (default: the system clock); kept across restart(). */
  clock?: Clock;
}

/** Starts the service in this process on port 0 with a fresh SQLite file. */
export async function startTestService(env: Record<string, string> = {}, options: TestServiceOptions = {}): Promise<TestService> {
  const dir = tempDir();
  const databasePath = join(dir.path, 'cortex.sqlite');
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const boot = async (extra: Record<string, string>) => {
    const config = loadConfig({
      CORTEX_PORT: '0',
      CORTEX_DATABASE: databasePath,
      CORTEX_LOG_LEVEL: 'debug',
      CORTEX_SWEEP_INTERVAL_MS: '50',
      CORTEX_RELAY_INTERVAL_MS: '50',
      CORTEX_DELIVERY_TIMEOUT_MS: '2000',
      ...tokenEnv(),
      ...env,
      ...extra,
    });
    return startService(config, { logger: createLogger(config.logLevel, sink), ...(options.clock ? { clock: options.clock } : {}) });
  };
  let service = await boot({});
  const handle: TestService = {
    url: service.url,
    dir: dir.path,
    databasePath,
    service,
    logs,
    call: (method, path, options) => call(handle.url, method, path, options),
    restart: async (extra = {}) => {
      await service.stop();
      service = await boot(extra);
      handle.service = service;
      handle.url = service.url;
    },
    stop: async () => {
      await service.stop();
      dir.remove();
    },
  };
  return handle;
}

const MAIN = fileURLToPath(new URL('../../service/src/main.ts', import.meta.url));

export interface ChildService {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
}

/** Starts `node service/src/main.ts` as a child process and waits for /readyz. */
export async function spawnService(env: Record<string, string>, port: number): Promise<ChildService> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, CORTEX_PORT: String(port), CORTEX_HOST: '127.0.0.1', CORTEX_LOG_LEVEL: 'info', ...tokenEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited early: ${output}`);
    try {
      const response = await fetch(`${url}/readyz`);
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`service not ready within 15 s: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, child, output: () => output, exited };
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value; bounded by `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 5000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

/** A handoff body from infrastructure to talos with overrides. */
export function handoffBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    from_contractor: 'infrastructure-contractor',
    to_contractor: 'talos-contractor',
    task_id: 'task-1',
    data: { vm_ids: [101, 102], endpoints: ['10.0.0.11'] },
    ...overrides,
  };
}

export interface CallbackReceiver {
  /** `path` on the receiver (e.g. an n8n resume URL's shape). */
  url: string;
  /** Every request received, in order. */
  calls: { headers: Record<string, string>; body: string }[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records every request and answers 200 {}. */
export async function startCallbackReceiver(path = '/'): Promise<CallbackReceiver> {
  const calls: CallbackReceiver['calls'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      calls.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    calls,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
