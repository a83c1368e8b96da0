// Shared helpers of the benchmark suite: a small keep-alive HTTP/1.1 client over raw
// sockets (cheap enough that the load generator never is the bottleneck of a server on
// the other core), a bounded closed-loop load generator, child-process servers, temp
// dirs, percentiles, and /proc readings (RSS, CPU time) of a child.
//
// Every loop here is bounded in count and in time; traffic goes to 127.0.0.1 only.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ADMIN_TOKEN, TOKENS, tokenEnv } from '../test/service/harness.ts';

export { ADMIN_TOKEN, TOKENS, tokenEnv };

export const HOST = '127.0.0.1';
export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const SERVICE_MAIN = fileURLToPath(new URL('../service/src/main.ts', import.meta.url));

// ---------------------------------------------------------------- results

export interface BenchResult {
  /** Benchmark name (what `npm run bench -- NAME` selects). */
  bench: string;
  /** What was measured, e.g. "create throughput / bare express". */
  metric: string;
  /** The figure, formatted. */
  value: string;
  /** The target, formatted, e.g. "≥ 0.70". */
  target: string;
  /** null: informational (no target). */
  pass: boolean | null;
  /**
   * CPU (in cores) that other processes on the machine used while this was measured: on a
   * shared 2-core machine, anything near 1 means the figure is understated.
   */
  otherLoad?: number;
}

export interface Benchmark {
  name: string;
  title: string;
  run(log: (line: string) => void): Promise<BenchResult[]>;
}

// ---------------------------------------------------------------- numbers

/** Nearest-rank percentile (q in [0,1]) of an ascending-sorted array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export const mib = (bytes: number): string => `${fmt(bytes / 1024 / 1024, 1)} MiB`;

/** Deterministic PRNG (xorshift32) so that runs draw the same spreads. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- temp dirs

export function tempDir(prefix: string): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------- HTTP client

export interface HttpReply {
  status: number;
  body: Buffer;
}

/** Serialises one HTTP/1.1 request once, so that a load loop only writes bytes. */
export function buildRequest(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; port: number },
): Buffer {
  const body = options.body === undefined ? '' : JSON.stringify(options.body);
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${HOST}:${options.port}\r\nConnection: keep-alive\r\n`;
  if (options.token) head += `Authorization: Bearer ${options.token}\r\n`;
  if (options.body !== undefined) head += 'Content-Type: application/json\r\n';
  if (method !== 'GET' || body.length > 0) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return Buffer.from(`${head}\r\n${body}`, 'utf8');
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * One keep-alive connection, one request in flight at a time (no pipelining). Parses
 * the status line, Content-Length or chunked bodies; reconnects when the server closed
 * the socket between requests.
 */
export class Connection {
  private readonly port: number;
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private waiter: { resolve: (reply: HttpReply) => void; reject: (error: Error) => void } | null = null;

  constructor(port: number) {
    this.port = port;
  }

  private open(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: HOST, port: this.port, noDelay: true });
      const refused = (error: Error) => {
        this.connecting = null;
        reject(error);
      };
      socket.once('error', refused);
      socket.once('connect', () => {
        socket.off('error', refused);
        this.socket = socket;
        this.connecting = null;
        this.buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => this.onData(chunk));
        socket.on('error', (error) => this.fail(error));
        socket.on('close', () => {
          if (this.socket === socket) this.socket = null;
          this.fail(new Error('connection closed by the server'));
        });
        resolve(socket);
      });
    });
    return this.connecting;
  }

  async request(raw: Buffer): Promise<HttpReply> {
    if (this.waiter) throw new Error('one request at a time on a Connection');
    const socket = await this.open();
    return new Promise<HttpReply>((resolve, reject) => {
      this.waiter = { resolve, reject };
      socket.write(raw);
    });
  }

  close(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
    this.fail(new Error('connection closed by the client'));
  }

  private fail(error: Error): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.waiter) return;
    let reply: HttpReply | null;
    try {
      reply = this.parse();
    } catch (error) {
      this.fail(error as Error);
      this.close();
      return;
    }
    if (!reply) return;
    const waiter = this.waiter;
    this.waiter = null;
    waiter.resolve(reply);
  }

  /** A complete response from the buffer (consumed), or null if more bytes are needed. */
  private parse(): HttpReply | null {
    const buf = this.buffer;
    const headEnd = buf.indexOf(CRLFCRLF);
    if (headEnd < 0) return null;
    const head = buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    if (!head.startsWith('HTTP/1.') || !Number.isInteger(status)) throw new Error(`bad status line: ${head.slice(0, 40)}`);
    const bodyStart = headEnd + 4;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length) {
      const end = bodyStart + Number(length[1]);
      if (buf.length < end) return null;
      this.buffer = buf.subarray(end);
      return { status, body: buf.subarray(bodyStart, end) };
    }
    if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const parts: Buffer[] = [];
      let at = bodyStart;
      for (let guard = 0; guard < 100_000; guard++) {
        const lineEnd = buf.indexOf(CRLF, at);
        if (lineEnd < 0) return null;
        const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
        if (!Number.isFinite(size)) throw new Error('bad chunk size');
        const dataStart = lineEnd + 2;
        if (size === 0) {
          if (buf.length < dataStart + 2) return null; // no trailers expected
          this.buffer = buf.subarray(dataStart + 2);
          return { status, body: Buffer.concat(parts) };
        }
        if (buf.length < dataStart + size + 2) return null;
        parts.push(buf.subarray(dataStart, dataStart + size));
        at = dataStart + size + 2;
      }
      throw new Error('too many chunks');
    }
    if (status === 204 || status === 304) {
      this.buffer = buf.subarray(bodyStart);
      return { status, body: Buffer.alloc(0) };
    }
    throw new Error('response without Content-Length or chunked encoding');
  }
}

/** One request on a fresh connection, JSON in and out (setup and polling, not load). */
export async function requestOnce(
  port: number,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; json: any; text: string }> {
  const connection = new Connection(port);
  try {
    const reply = await withTimeout(connection.request(buildRequest(method, path, { ...options, port })), 10_000, `${method} ${path}`);
    const text = reply.body.toString('utf8');
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: reply.status, json, text };
  } finally {
    connection.close();
  }
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- load generator

export interface LoadOptions {
  port: number;
  /** Connections, each with one iteration in flight (closed loop). */
  connections: number;
  /** Iterations before this are not counted. */
  warmupMs: number;
  /** Measured time after the warm-up. */
  durationMs: number;
  /** Hard cap on iterations started (all connections together). */
  maxIterations: number;
  /** The server's process id: its CPU time over the window is reported too (Linux). */
  serverPid?: number;
  /**
   * One iteration on a connection; returns how many operations it completed (counted
   * when it ends inside the measured window). Throws on an unexpected answer.
   */
  iteration: (connection: Connection, index: number) => Promise<number>;
}

export interface LoadResult {
  /** Operations completed inside the measured window. */
  operations: number;
  iterations: number;
  seconds: number;
  perSecond: number;
  /** Iteration latency in the window, ms. */
  p50: number;
  p99: number;
  /** CPU time of this (client) process during the window, as a share of one core. */
  clientCpu: number;
  /** CPU time of the server process (all its threads) during the window, as a share of one core; NaN if unknown. */
  serverCpu: number;
  /** Server CPU microseconds per operation; NaN if unknown. */
  serverCpuPerOp: number;
  /** CPU busy on the machine during the window in neither this process nor the server, in cores (other load). */
  otherCpu: number;
  errors: number;
  firstError: string | null;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let started = 0;
  let operations = 0;
  let iterations = 0;
  let errors = 0;
  let firstError: string | null = null;
  let cpuAtWindow: NodeJS.CpuUsage | null = null;
  const latencies: number[] = [];
  const connections = Array.from({ length: options.connections }, () => new Connection(options.port));
  let serverCpuAtWindow = Number.NaN;
  let machineAtWindow = Number.NaN;
  const serverCpu = () => {
    try {
      return options.serverPid === undefined ? Number.NaN : cpuSecondsOf(options.serverPid);
    } catch {
      return Number.NaN;
    }
  };
  const cpuTimer = setTimeout(() => {
    cpuAtWindow = process.cpuUsage();
    serverCpuAtWindow = serverCpu();
    machineAtWindow = machineBusySeconds();
  }, options.warmupMs);

  const worker = async (connection: Connection) => {
    while (performance.now() < windowEnd && started < options.maxIterations && errors < 20) {
      const index = started++;
      const t0 = performance.now();
      try {
        const ops = await options.iteration(connection, index);
        const t1 = performance.now();
        if (t1 >= windowStart && t1 <= windowEnd) {
          operations += ops;
          iterations++;
          latencies.push(t1 - t0);
        }
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  // A server that stops answering must not hang the run: past the window (and a grace),
  // the connections are closed, which fails whatever is still waiting.
  const watchdog = setTimeout(() => {
    for (const connection of connections) connection.close();
  }, options.warmupMs + options.durationMs + 15_000);
  await Promise.all(connections.map(worker));
  clearTimeout(watchdog);
  clearTimeout(cpuTimer);
  const cpuEnd = process.cpuUsage(cpuAtWindow ?? undefined);
  const serverSeconds = serverCpu() - serverCpuAtWindow;
  const machineSeconds = machineBusySeconds() - machineAtWindow;
  const ended = Math.min(performance.now(), windowEnd);
  for (const connection of connections) connection.close();
  const seconds = Math.max(0.001, (ended - windowStart) / 1000);
  const sorted = sortedCopy(latencies);
  return {
    operations,
    iterations,
    seconds,
    perSecond: operations / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    clientCpu: cpuAtWindow ? (cpuEnd.user + cpuEnd.system) / 1e6 / seconds : Number.NaN,
    serverCpu: serverSeconds / seconds,
    serverCpuPerOp: (serverSeconds / Math.max(operations, 1)) * 1e6,
    otherCpu: (machineSeconds - (cpuEnd.user + cpuEnd.system) / 1e6 - (Number.isNaN(serverSeconds) ? 0 : serverSeconds)) / seconds,
    errors,
    firstError,
  };
}

/** Throws unless the reply has the expected status; returns the parsed JSON body. */
export function expectStatus(reply: HttpReply, status: number, what: string): any {
  if (reply.status !== status) {
    throw new Error(`${what}: HTTP ${reply.status} (expected ${status}): ${reply.body.toString('utf8').slice(0, 300)}`);
  }
  return reply.body.length > 0 ? JSON.parse(reply.body.toString('utf8')) : undefined;
}

/**
 * One handoff through its lifecycle on `connection`: created by infrastructure-contractor for
 * talos-contractor, then claimed and completed by talos-contractor. Returns its transitions (3).
 */
export async function handoffLifecycle(connection: Connection, port: number, taskId: string): Promise<number> {
  const receiver = TOKENS['talos-contractor'];
  const created = expectStatus(
    await connection.request(
      buildRequest('POST', '/v1/handoffs', {
        token: TOKENS['infrastructure-contractor'],
        body: {
          from_contractor: 'infrastructure-contractor',
          to_contractor: 'talos-contractor',
          task_id: taskId,
          data: { vm_ids: [101, 102] },
          claim_timeout: 300,
          completion_timeout: 600,
        },
        port,
      }),
    ),
    201,
    'create',
  ) as { handoff_id: string };
  const id = created.handoff_id;
  const claimed = await connection.request(buildRequest('POST', `/v1/handoffs/${id}/claim`, { token: receiver, body: {}, port }));
  if (claimed.status !== 200) expectStatus(claimed, 200, 'claim');
  const done = await connection.request(
    buildRequest('POST', `/v1/handoffs/${id}/complete`, { token: receiver, body: { result: { kubeconfig_ref: `k-${id.slice(-6)}` } }, port }),
  );
  if (done.status !== 200) expectStatus(done, 200, 'complete');
  return 3;
}

// ---------------------------------------------------------------- child processes

export interface ServerProcess {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** The last 64 KiB of its stdout+stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts `node script` and waits (≤ 20 s) until GET readyPath answers 200. */
export async function startNodeServer(
  name: string,
  script: string,
  env: Record<string, string>,
  readyPath: string,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    cwd: REPO,
    env: { ...process.env, ...env, PORT: String(port), CORTEX_PORT: String(port), CORTEX_HOST: HOST },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (output.length > 65_536) output = output.slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killed);
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited early: ${output}`);
    try {
      const reply = await requestOnce(port, 'GET', readyPath);
      if (reply.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready within 20 s: ${output}`);
    }
    await sleep(50);
  }
  return { name, port, pid: child.pid!, child, output: () => output, stop };
}

/** `node service/src/main.ts` on a SQLite file, with the test tokens. */
export function startService(databasePath: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  return startNodeServer(
    'cortex service',
    SERVICE_MAIN,
    { CORTEX_DATABASE: databasePath, CORTEX_LOG_LEVEL: 'info', ...tokenEnv(), ...env },
    '/readyz',
  );
}

// ---------------------------------------------------------------- /proc readings

/** Resident set size of a process in bytes (Linux /proc), and its peak (VmHWM). */
export function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** CPU seconds (user + system) a process has used so far (Linux /proc). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ticks / 100; // USER_HZ is 100 on Linux
}

/** CPU seconds the whole machine has been busy (all cores; /proc/stat without idle and iowait). */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
    return (total - ticks[3]! - ticks[4]!) / 100;
  } catch {
    return Number.NaN;
  }
}

/** A counter's value from a Prometheus text exposition (sum over matching label sets). */
export function promCounter(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
