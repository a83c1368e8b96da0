// A Proxmox VE API simulator over HTTPS, for the Proxmox node's tests, its benchmark and a
// local lab (`node test/simulators/proxmox/main.ts --port 8006`). It follows
// /work/shared/reference/proxmox-api.md: the {data} envelope, token and ticket (+CSRF) auth,
// async UPID tasks, per-guest lock files with lock waits and timeouts, `lock: clone` during
// clones, 500 for missing guests, parameter verification, VMID collisions, and transient
// failures injected on demand. It counts API calls for the benchmark.

import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Auth, checkPermission, type Principal, type TokenSpec, type UserSpec } from './auth.ts';
import { generateCertificates, type SimulatorCertificates } from './certs.ts';
import { Cluster, lockFile, type Guest, type Kind } from './cluster.ts';
import { LockManager } from './locks.ts';
import { ApiError, verify, type Params, type Schema } from './schema.ts';
import { TaskManager, type ScriptedTask } from './tasks.ts';
import { clusterRoutes } from './routes-cluster.ts';
import { guestRoutes } from './routes-guests.ts';

export interface ProxmoxSimulatorOptions {
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  nodes?: string[];
  /** Seed the default lab (template 9000, VMs 100/101, CT 200, CT template 8000). Default true. */
  seed?: boolean;
  /** How long lock_config waits for a held lock before "got timeout". Default 10 000 ms (as PVE). */
  lockWaitMs?: number;
  /** How long a clone holds its SOURCE's lock while it creates the target (parallel clones queue here). Default 1 000 ms. */
  cloneSourceLockMs?: number;
  /** How long a synchronous config change holds the lock. Default 20 ms. */
  configLockMs?: number;
  /** Multiplies every simulated task duration (0.05 → tasks 20× faster); lock waits and holds stay as given. Default 1. */
  timeScale?: number;
  /** Task durations in ms (before timeScale) by task type, e.g. { qmclone: 4000 }. */
  taskDurations?: Record<string, number>;
  /** Ticket validity. Default 2 h (as PVE). */
  ticketLifetimeMs?: number;
  /** Log in as PVE ≤ 7.0 did: no `new-format` / `tfa-challenge`, a TOTP code as `otp` with the password. Default false. */
  legacyLogin?: boolean;
  /** Chance (0..1) that a state-changing request fails transiently (5xx / "got no worker upid") before doing anything. */
  transientFailureRate?: number;
  users?: UserSpec[];
  tokens?: TokenSpec[];
  certificates?: SimulatorCertificates;
}

/** A user with a TOTP second factor (two-factor authentication). */
export const TOTP_USER = { userid: 'automation@pve', password: 'automation-pw-2fa', totp: { secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' } } satisfies UserSpec;
export const DEFAULT_USERS: UserSpec[] = [{ userid: 'root@pam', password: 'proxmox-root-pw' }, TOTP_USER];
export const DEFAULT_TOKENS: TokenSpec[] = [
  { tokenid: 'root@pam!n8n', secret: '5f0c9a52-6a4e-4c4b-9f3e-0d1f6c2b7a11' },
  // Privilege-separated token with read access only (the usual 403 surprise).
  { tokenid: 'root@pam!readonly', secret: '0b7e3c1d-2f4a-4e6b-8c9d-1a2b3c4d5e6f', privileges: ['Sys.Audit', 'VM.Audit', 'Datastore.Audit'] },
];

export const DEFAULT_TASK_DURATIONS: Record<string, number> = {
  qmclone: 4000, qmcreate: 2000, qmstart: 1200, qmstop: 600, qmshutdown: 2500, qmreboot: 3000, qmdestroy: 1000,
  qmsnapshot: 1500, qmdelsnapshot: 1000, qmrollback: 2000, qmigrate: 5000, qmresize: 500, qmconfig: 300,
  vzclone: 3000, vzcreate: 3000, vzstart: 1000, vzstop: 500, vzshutdown: 2000, vzreboot: 2500, vzdestroy: 1000,
  vzsnapshot: 1000, vzdelsnapshot: 800, vzrollback: 1500, vzmigrate: 4000, resize: 500,
};

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface PermissionCheck {
  path: string;
  privileges: string[];
  /** Any one of the privileges is enough. */
  any?: boolean;
}

export interface RequestContext {
  sim: ProxmoxSimulator;
  params: Params;
  principal: Principal;
}

export interface Route {
  method: Method;
  path: string;
  schema: Schema;
  perm?: (params: Params) => PermissionCheck[];
  handler: (ctx: RequestContext) => unknown;
  /** No authentication (POST /access/ticket). */
  public?: boolean;
  /** A state-changing call: subject to injected transient failures. */
  mutating?: boolean;
}

/** A handler result with fields beside `data` in the envelope (task log: `total`). */
export class Envelope {
  body: Record<string, unknown>;

  constructor(body: Record<string, unknown>) {
    this.body = body;
  }
}

export type FailureKind = 'no-worker' | 'http-500' | 'http-503' | 'http-595' | 'lock-timeout';

export interface InjectedFailure {
  kind: FailureKind;
  method?: Method;
  /** Matched against the route template, e.g. /clone$/ or '/nodes/{node}/qemu/{vmid}/clone'. */
  path?: RegExp | string;
  /** Respond with the failure AFTER the handler did its work (the client cannot tell it happened). */
  afterEffect?: boolean;
  /** How many requests fail (default 1). */
  count?: number;
}

export interface SimulatorStats {
  /** Every API request (authenticated or not). */
  calls: number;
  /** By "METHOD /route/template". */
  byRoute: Record<string, number>;
  /** GET /nodes/{node}/tasks/{upid}/status. */
  statusPolls: number;
  /** Full tickets handed out (password, password + TOTP, renewal). */
  logins: number;
  authFailures: number;
  /** Partial tickets handed out (password step of a TOTP user). */
  tfaChallenges: number;
  /** Refused TOTP answers. */
  tfaFailures: number;
  /** Tickets renewed with a ticket as the password. */
  renewals: number;
  lockTimeouts: number;
  lockContended: number;
  injectedFailures: number;
  tasksStarted: number;
  /** Sum of the durations of finished tasks (ms), all and by type. */
  taskDurationMs: number;
  taskDurationByType: Record<string, number>;
}

interface CompiledRoute extends Route {
  segments: string[];
}

export class ProxmoxSimulator {
  readonly cluster: Cluster;
  readonly tasks: TaskManager;
  readonly locks = new LockManager();
  readonly auth: Auth;
  readonly certificates: SimulatorCertificates;
  lockWaitMs: number;
  cloneSourceLockMs: number;
  configLockMs: number;
  transientFailureRate: number;
  readonly taskDurations: Record<string, number>;
  private readonly routes: CompiledRoute[] = [];
  private readonly injected: Array<InjectedFailure & { remaining: number }> = [];
  private readonly server: Server;
  private readonly holdTimers = new Set<NodeJS.Timeout>();
  private counters = { calls: 0, statusPolls: 0, injected: 0, tasksStarted: 0 };
  private byRoute: Record<string, number> = {};
  private baseline = { logins: 0, authFailures: 0, tfaChallenges: 0, tfaFailures: 0, renewals: 0, lockTimeouts: 0, lockContended: 0, durations: new Map<string, number>() };
  port = 0;
  host: string;

  private constructor(options: ProxmoxSimulatorOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.cluster = new Cluster(options.nodes ?? ['pve1', 'pve2']);
    if (options.seed !== false) this.cluster.seed();
    this.tasks = new TaskManager(options.timeScale ?? 1);
    this.auth = new Auth(options.users ?? DEFAULT_USERS, options.tokens ?? DEFAULT_TOKENS, options.ticketLifetimeMs ?? 2 * 3600_000);
    this.auth.legacyLogin = options.legacyLogin ?? false;
    this.lockWaitMs = options.lockWaitMs ?? 10_000;
    this.cloneSourceLockMs = options.cloneSourceLockMs ?? 1000;
    this.configLockMs = options.configLockMs ?? 20;
    this.transientFailureRate = options.transientFailureRate ?? 0;
    this.taskDurations = { ...DEFAULT_TASK_DURATIONS, ...(options.taskDurations ?? {}) };
    this.certificates = options.certificates ?? generateCertificates(this.cluster.nodes);
    for (const route of [...clusterRoutes(), ...guestRoutes('qemu'), ...guestRoutes('lxc')]) {
      this.routes.push({ ...route, segments: route.path.split('/').filter(Boolean) });
    }
    this.server = createServer({ key: this.certificates.keyPem, cert: this.certificates.certPem }, (req, res) => void this.handle(req, res));
  }

  static async start(options: ProxmoxSimulatorOptions = {}): Promise<ProxmoxSimulator> {
    const sim = new ProxmoxSimulator(options);
    await new Promise<void>((resolve, reject) => {
      sim.server.once('error', reject);
      sim.server.listen(options.port ?? 0, sim.host, () => resolve());
    });
    sim.port = (sim.server.address() as AddressInfo).port;
    return sim;
  }

  /** https://127.0.0.1:<port> — what the credential's Base URL holds. */
  get url(): string {
    return `https://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get caPem(): string {
    return this.certificates.caPem;
  }

  async close(): Promise<void> {
    this.tasks.stop();
    this.locks.clear();
    for (const timer of this.holdTimers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // --- test controls ---------------------------------------------------------------------

  /** The next matching task ends with this exit status (and log lines). */
  scriptTask(task: ScriptedTask): void {
    this.tasks.script(task);
  }

  /** The next `count` matching requests fail transiently. */
  injectFailure(failure: InjectedFailure): void {
    this.injected.push({ ...failure, remaining: failure.count ?? 1 });
  }

  guest(vmid: number): Guest | undefined {
    return this.cluster.guests.get(vmid);
  }

  stats(): SimulatorStats {
    const durations: Record<string, number> = {};
    let total = 0;
    for (const [type, ms] of this.tasks.durationByType) {
      const value = ms - (this.baseline.durations.get(type) ?? 0);
      if (value > 0) durations[type] = value;
      total += Math.max(0, value);
    }
    return {
      calls: this.counters.calls,
      byRoute: { ...this.byRoute },
      statusPolls: this.counters.statusPolls,
      logins: this.auth.logins - this.baseline.logins,
      authFailures: this.auth.failures - this.baseline.authFailures,
      tfaChallenges: this.auth.tfaChallenges - this.baseline.tfaChallenges,
      tfaFailures: this.auth.tfaFailures - this.baseline.tfaFailures,
      renewals: this.auth.renewals - this.baseline.renewals,
      lockTimeouts: this.locks.timeouts - this.baseline.lockTimeouts,
      lockContended: this.locks.contended - this.baseline.lockContended,
      injectedFailures: this.counters.injected,
      tasksStarted: this.counters.tasksStarted,
      taskDurationMs: total,
      taskDurationByType: durations,
    };
  }

  resetStats(): void {
    this.counters = { calls: 0, statusPolls: 0, injected: 0, tasksStarted: 0 };
    this.byRoute = {};
    this.baseline = {
      logins: this.auth.logins,
      authFailures: this.auth.failures,
      tfaChallenges: this.auth.tfaChallenges,
      tfaFailures: this.auth.tfaFailures,
      renewals: this.auth.renewals,
      lockTimeouts: this.locks.timeouts,
      lockContended: this.locks.contended,
      durations: new Map(this.tasks.durationByType),
    };
  }

  /** Resolves when no task is running (bounded by timeoutMs). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.tasks.running > 0) {
      if (Date.now() > deadline) throw new Error(`${this.tasks.running} task(s) still running after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  // --- helpers for route handlers --------------------------------------------------------

  startTask(node: string, type: string, id: string | number, principal: Principal, run: Parameters<TaskManager['start']>[0]['run'], cleanup?: () => void): string {
    this.counters.tasksStarted += 1;
    return this.tasks.start({ node, type, id: String(id), user: principal.id, run, ...(cleanup ? { cleanup } : {}) });
  }

  duration(type: string): number {
    return this.taskDurations[type] ?? 1000;
  }

  /** Holds the guest's lock file for fn and then `holdMs` (not scaled: like lockWaitMs, in real ms), as lock_config around an API call. */
  async withGuestLock<T>(kind: Kind, vmid: number, holdMs: number, fn: () => T | Promise<T>): Promise<T> {
    return await this.locks.with(`${kind}:${vmid}`, lockFile(kind, vmid), this.lockWaitMs, async () => {
      const result = await fn();
      if (holdMs > 0) await this.hold(holdMs);
      return result;
    });
  }

  /** Waits `ms` of real time (cleared on close). */
  hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.holdTimers.delete(timer);
        resolve();
      }, ms);
      this.holdTimers.add(timer);
    });
  }

  requireNode(node: string): void {
    if (!this.cluster.nodes.includes(node)) {
      throw new ApiError(500, `hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
    }
  }

  // --- HTTP ------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.calls += 1;
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://simulator');
    } catch {
      return this.reply(res, 400, { data: null }, 'Bad Request');
    }
    const prefix = '/api2/json';
    if (!url.pathname.startsWith(`${prefix}/`)) return this.reply(res, 501, { data: null }, `Method '${method} ${url.pathname}' not implemented`);
    const segments = url.pathname.slice(prefix.length).split('/').filter(Boolean).map(safeDecode);
    const matched = this.match(method, segments);
    if (!matched) {
      return this.replyError(res, new ApiError(501, `Method '${method} /${segments.join('/')}' not implemented`));
    }
    const { route, pathParams } = matched;
    const key = `${method} ${route.path}`;
    this.byRoute[key] = (this.byRoute[key] ?? 0) + 1;
    if (route.path === '/nodes/{node}/tasks/{upid}/status') this.counters.statusPolls += 1;
    try {
      const body = await readBody(req);
      const principal = route.public
        ? { id: 'anonymous', privileges: new Set<string>(), via: 'ticket' as const }
        : this.auth.authenticate(method, req.headers);
      const raw: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...parseBody(body, String(req.headers['content-type'] ?? '')), ...pathParams };
      const params = verify(route.schema, raw);
      for (const check of route.perm?.(params) ?? []) checkPermission(principal, check.path, check.privileges, check.any);
      const failure = route.mutating ? this.takeFailure(route) : undefined;
      if (failure && !failure.afterEffect) throw this.failureError(failure, params);
      const result = await route.handler({ sim: this, params, principal });
      if (failure) throw this.failureError(failure, params);
      const envelope = result instanceof Envelope ? result.body : { data: result ?? null };
      return this.reply(res, 200, envelope, 'OK');
    } catch (error) {
      return this.replyError(res, error);
    }
  }

  private match(method: string, segments: string[]): { route: CompiledRoute; pathParams: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const pathParams: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length && ok; i++) {
        const pattern = route.segments[i]!;
        if (pattern.startsWith('{')) pathParams[pattern.slice(1, -1)] = segments[i]!;
        else ok = pattern === segments[i];
      }
      if (ok) return { route, pathParams };
    }
    return undefined;
  }

  private takeFailure(route: Route): (InjectedFailure & { remaining: number }) | undefined {
    const index = this.injected.findIndex(
      (f) =>
        (f.method === undefined || f.method === route.method) &&
        (f.path === undefined || (typeof f.path === 'string' ? f.path === route.path : f.path.test(route.path))),
    );
    if (index >= 0) {
      const failure = this.injected[index]!;
      failure.remaining -= 1;
      if (failure.remaining <= 0) this.injected.splice(index, 1);
      return failure;
    }
    if (this.transientFailureRate > 0 && Math.random() < this.transientFailureRate) {
      const kinds: FailureKind[] = ['no-worker', 'http-503', 'http-595'];
      return { kind: kinds[Math.floor(Math.random() * kinds.length)]!, remaining: 0 };
    }
    return undefined;
  }

  private failureError(failure: InjectedFailure, params: Params): ApiError {
    this.counters.injected += 1;
    switch (failure.kind) {
      case 'no-worker':
        return new ApiError(500, 'got no worker upid - start worker failed');
      case 'http-503':
        return new ApiError(503, 'Service Unavailable');
      case 'http-595':
        return new ApiError(595, 'Connection timed out');
      case 'lock-timeout':
        return new ApiError(500, `can't lock file '${lockFile('qemu', Number(params.vmid ?? 0))}' - got timeout`);
      default:
        return new ApiError(500, 'Internal Server Error');
    }
  }

  private replyError(res: ServerResponse, error: unknown): void {
    if (error instanceof ApiError) {
      const body: Record<string, unknown> = { data: null, message: `${error.message}\n` };
      if (error.errors) body.errors = error.errors;
      return this.reply(res, error.status, body, error.message);
    }
    const message = (error as Error)?.message ?? String(error);
    return this.reply(res, 500, { data: null, message: `${message}\n` }, message);
  }

  private reply(res: ServerResponse, status: number, body: unknown, reason: string): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    // Proxmox puts the error text in the HTTP reason phrase (one line, printable).
    res.statusMessage = reason.replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, 512) || 'Error';
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'max-age=0' });
    res.end(text);
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) throw new ApiError(413, 'request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType: string): Record<string, unknown> {
  if (!text) return {};
  if (contentType.includes('application/json')) {
    try {
      const parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new ApiError(400, 'invalid JSON body');
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
