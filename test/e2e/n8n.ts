// Real n8n for end-to-end tests: the package built and packed as it is published, installed
// into a fresh n8n user folder the way a user's install does (`npm install <tgz> --omit=peer`
// in $N8N_USER_FOLDER/.n8n/nodes), credentials and workflows imported and published with n8n's
// own CLI, and n8n started headless on loopback.
//
// n8n 2.41 headless, as used here:
// - every CLI command (import:credentials, import:workflow, publish:workflow) boots n8n's DI and
//   database (3–7 s each; the first one runs the migrations). publish:workflow only marks the
//   workflow active in the database: it must run BEFORE `n8n start`, which activates published
//   workflows (webhook triggers' checkExists → create) at start-up.
// - /healthz/readiness (not /healthz) says the server is up and migrated; published workflows are
//   activated after that, in the background (workflow publication outbox): waitForActivation().
// - N8N_WEBHOOK_URL (WEBHOOK_URL is deprecated) fixes the base of $execution.resumeUrl and of
//   trigger URLs; 127.0.0.1, not "localhost", which may resolve to ::1 where n8n does not listen.
// - outbound calls at start-up: the MCP registry refresh (api.n8n.io) unless the module is
//   disabled; banners, templates, version notifications, diagnostics and license renewal are off.
// - the execution store is the user folder's SQLite database (WAL): execution_entity holds status,
//   execution_data.data the run data serialised with `flatted` (read with n8n's own copy).
// - n8n starts a task-runner child: n8n runs in its own process group, killed as a group.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, bounded by `timeoutMs` (then SIGKILL); rejects on a non-zero exit. */
export async function runCommand(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return await new Promise<CommandResult>((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      const line = `${command} ${args.join(' ')}`;
      if (timedOut) reject(new Error(`${line}: no end within ${timeoutMs} ms\n${tail(stdout + stderr)}`));
      else if (code !== 0 && !options.allowFailure) reject(new Error(`${line}: exit ${code}\n${tail(stdout + stderr)}`));
      else resolve(result);
    });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the child's own process group (spawned detached)
  } catch {
    child.kill(signal);
  }
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Real n8n's install folder: scripts/install-n8n.sh installs it once (minutes) and prints it. */
export async function n8nHome(): Promise<string> {
  const { stdout } = await runCommand('bash', [join(REPO, 'scripts/install-n8n.sh')], { timeoutMs: 15 * 60_000 });
  const home = stdout.trim().split('\n').at(-1) ?? '';
  if (!home) throw new Error('scripts/install-n8n.sh printed no folder');
  return home;
}

/** `npm run build`, then `npm pack` into `destination`; returns the tarball's path. */
export async function buildAndPack(destination: string): Promise<string> {
  await runCommand('npm', ['run', 'build'], { timeoutMs: 180_000 });
  const { stdout } = await runCommand('npm', ['pack', '--json', '--pack-destination', destination], { timeoutMs: 60_000 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error(`npm pack printed no file: ${stdout}`);
  return join(destination, packed.filename);
}

export interface N8nOptions {
  /** n8n's install folder (n8nHome()). */
  home: string;
  /** A fresh folder: N8N_USER_FOLDER. */
  userFolder: string;
  port: number;
  brokerPort: number;
  /** Base URL n8n hands out for webhooks and resume URLs (N8N_WEBHOOK_URL). Default: n8n itself. */
  webhookUrl?: string;
  /** More environment for every n8n process (e.g. N8N_RESTRICT_FILE_ACCESS_TO); wins over the defaults. */
  env?: Record<string, string>;
}

export interface ExecutionRow {
  id: string;
  workflowId: string;
  status: string;
  finished: boolean;
  mode: string;
  waitTill: string | null;
}

/** Whether an execution has ended (not new, running or waiting). */
export function ended(execution: ExecutionRow): boolean {
  return execution.status !== 'new' && execution.status !== 'running' && execution.status !== 'waiting';
}

/** Run data of a stored execution (IRunExecutionData, loosely typed). */
export interface StoredRun {
  resultData: {
    runData: Record<string, Array<{ data?: { main?: Array<Array<{ json: Record<string, any> }> | null> }; error?: { message?: string } }>>;
    lastNodeExecuted?: string;
    error?: { message?: string };
  };
}

export class N8n {
  readonly home: string;
  readonly userFolder: string;
  readonly port: number;
  readonly baseUrl: string;
  private readonly brokerPort: number;
  private readonly webhookUrl: string;
  private readonly extraEnv: Record<string, string>;
  private child: ChildProcess | undefined;
  private output = '';
  private db: DatabaseSync | undefined;
  private readonly flatted: { parse(text: string): unknown };

  constructor(options: N8nOptions) {
    this.home = options.home;
    this.userFolder = options.userFolder;
    this.port = options.port;
    this.brokerPort = options.brokerPort;
    this.baseUrl = `http://127.0.0.1:${options.port}`;
    this.webhookUrl = (options.webhookUrl ?? this.baseUrl).replace(/\/+$/, '');
    this.extraEnv = options.env ?? {};
    // The serialisation n8n stores run data with, from n8n's own dependencies.
    this.flatted = createRequire(join(this.home, 'node_modules', 'n8n', 'package.json'))('flatted');
  }

  /** The environment of every n8n process: loopback only, no telemetry, a fixed encryption key. */
  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'npm_config_nodedir']) {
      if (process.env[name] !== undefined) env[name] = process.env[name];
    }
    return {
      ...env,
      N8N_USER_FOLDER: this.userFolder,
      N8N_PORT: String(this.port),
      N8N_LISTEN_ADDRESS: '127.0.0.1',
      N8N_HOST: '127.0.0.1',
      N8N_PROTOCOL: 'http',
      N8N_WEBHOOK_URL: `${this.webhookUrl}/`,
      N8N_EDITOR_BASE_URL: `${this.baseUrl}/`,
      N8N_RUNNERS_BROKER_PORT: String(this.brokerPort),
      N8N_RUNNERS_BROKER_LISTEN_ADDRESS: '127.0.0.1',
      DB_TYPE: 'sqlite',
      N8N_ENCRYPTION_KEY: 'cortex-e2e-encryption-key-0000000001',
      N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
      N8N_DIAGNOSTICS_ENABLED: 'false',
      N8N_PERSONALIZATION_ENABLED: 'false',
      N8N_TEMPLATES_ENABLED: 'false',
      N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
      N8N_VERSION_NOTIFICATIONS_WHATS_NEW_ENABLED: 'false',
      N8N_DYNAMIC_BANNERS_ENABLED: 'false',
      N8N_HIRING_BANNER_ENABLED: 'false',
      N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
      N8N_DISABLED_MODULES: 'mcp-registry',
      N8N_UNVERIFIED_PACKAGES_ENABLED: 'true',
      N8N_GRACEFUL_SHUTDOWN_TIMEOUT: '5',
      N8N_LOG_LEVEL: 'info',
      N8N_LOG_OUTPUT: 'console',
      GENERIC_TIMEZONE: 'UTC',
      TZ: 'UTC',
      ...this.extraEnv,
    };
  }

  /** `npm install <tgz> --omit=peer` in $N8N_USER_FOLDER/.n8n/nodes, as a user's manual install does. */
  async installPackage(tarball: string): Promise<void> {
    const nodesDir = join(this.userFolder, '.n8n', 'nodes');
    mkdirSync(nodesDir, { recursive: true });
    writeFileSync(join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }, null, 2));
    await runCommand('npm', ['install', tarball, '--omit=peer', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: nodesDir,
      timeoutMs: 180_000,
    });
  }

  /** One n8n CLI command (bounded); its output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout, stderr } = await runCommand(process.execPath, [join(this.home, 'node_modules', 'n8n', 'bin', 'n8n'), ...args], {
      cwd: this.userFolder,
      env: this.env(),
      timeoutMs: 90_000,
    });
    return stdout + stderr;
  }

  /** `n8n import:credentials` from a file of [{id, name, type, data}] (data in clear: n8n encrypts it). */
  async importCredentials(credentials: Array<{ id: string; name: string; type: string; data: Record<string, unknown> }>): Promise<void> {
    const file = join(this.userFolder, 'credentials.json');
    writeFileSync(file, JSON.stringify(credentials, null, 2));
    const output = await this.cli('import:credentials', `--input=${file}`);
    if (!/Successfully imported/.test(output)) throw new Error(`import:credentials: ${tail(output)}`);
  }

  /** `n8n import:workflow` of workflow JSON (as the editor exports it, with ids). */
  async importWorkflows(workflows: object[]): Promise<void> {
    const file = join(this.userFolder, 'workflows.json');
    writeFileSync(file, JSON.stringify(workflows, null, 2));
    const output = await this.cli('import:workflow', `--input=${file}`);
    if (!/Successfully imported/.test(output)) throw new Error(`import:workflow: ${tail(output)}`);
  }

  /** `n8n publish:workflow --id` (takes effect at the next start). */
  async publish(workflowId: string): Promise<void> {
    await this.cli('publish:workflow', `--id=${workflowId}`);
  }

  /** `n8n start`, until /healthz/readiness answers 200 (bounded). */
  async start(timeoutMs = 90_000): Promise<void> {
    const child = spawn(process.execPath, [join(this.home, 'node_modules', 'n8n', 'bin', 'n8n'), 'start'], {
      cwd: this.userFolder,
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    child.stdout!.on('data', (chunk) => (this.output += chunk));
    child.stderr!.on('data', (chunk) => (this.output += chunk));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`n8n exited during start-up:\n${tail(this.output)}`);
      try {
        const response = await fetch(`${this.baseUrl}/healthz/readiness`, { signal: AbortSignal.timeout(2_000) });
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`n8n not ready within ${timeoutMs} ms:\n${tail(this.output)}`);
      await sleep(250);
    }
  }

  /** POSTs JSON to one of n8n's production webhooks (/webhook/<path>), bounded. */
  callWebhook(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.baseUrl}/webhook/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  }

  /** SIGTERM, then SIGKILL to the whole process group after `graceMs`. Safe to call twice. */
  async stop(graceMs = 10_000): Promise<void> {
    this.db?.close();
    this.db = undefined;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    killGroup(child, 'SIGKILL'); // the task runner, should it outlive n8n
  }

  /** Kills at once (process exit hooks; failed tests). */
  kill(): void {
    if (this.child) killGroup(this.child, 'SIGKILL');
  }

  /** Everything n8n printed. */
  log(): string {
    return this.output;
  }

  private database(): DatabaseSync {
    this.db ??= new DatabaseSync(join(this.userFolder, '.n8n', 'database.sqlite'), { readOnly: true });
    return this.db;
  }

  /** Executions from n8n's database, oldest first. */
  executions(workflowId?: string): ExecutionRow[] {
    const rows = this.database()
      .prepare('SELECT id, workflowId, status, finished, mode, waitTill FROM execution_entity ORDER BY id')
      .all() as Array<Record<string, unknown>>;
    return rows
      .map((row) => ({
        id: String(row.id),
        workflowId: String(row.workflowId),
        status: String(row.status),
        finished: row.finished === 1,
        mode: String(row.mode),
        waitTill: row.waitTill === null ? null : String(row.waitTill),
      }))
      .filter((row) => workflowId === undefined || row.workflowId === workflowId);
  }

  /** Production webhooks n8n has registered (webhook_entity): what activation of a workflow leaves behind. */
  webhooks(): Array<{ workflowId: string; method: string; path: string }> {
    const rows = this.database().prepare('SELECT workflowId, method, webhookPath FROM webhook_entity').all() as Array<Record<string, unknown>>;
    return rows.map((row) => ({ workflowId: String(row.workflowId), method: String(row.method), path: String(row.webhookPath) }));
  }

  /**
   * Waits until every workflow has its webhooks registered. In 2.41 published workflows are
   * activated AFTER /healthz/readiness answers 200: the workflow publication outbox consumer
   * (and a reconciler every 10 s) registers their triggers in the background.
   */
  async waitForActivation(workflowIds: string[], timeoutMs = 60_000): Promise<void> {
    await this.waitFor(
      `activation of ${workflowIds.join(', ')}`,
      () => {
        const active = new Set(this.webhooks().map((webhook) => webhook.workflowId));
        return workflowIds.every((id) => active.has(id)) ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** The stored run data of an execution. */
  runData(executionId: string): StoredRun {
    const row = this.database().prepare('SELECT data FROM execution_data WHERE executionId = ?').get(Number(executionId)) as { data?: string } | undefined;
    if (!row?.data) throw new Error(`No data stored for execution ${executionId}`);
    return this.flatted.parse(row.data) as StoredRun;
  }

  /** Polls n8n's executions until `check` returns a value (bounded). */
  async waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) {
        const executions = this.executions().map((e) => `${e.id} ${e.workflowId} ${e.status}`).join('; ');
        throw new Error(`${what}: not within ${timeoutMs} ms (executions: ${executions || 'none'})\n${tail(this.output)}`);
      }
      await sleep(200);
    }
  }
}

/** Items on one output of a node's last run in stored run data. */
export function outputItems(run: StoredRun, nodeName: string, output = 0): Array<Record<string, any>> {
  const runs = run.resultData.runData[nodeName];
  const last = runs?.at(-1);
  if (!last) throw new Error(`Node "${nodeName}" did not run; ran: ${Object.keys(run.resultData.runData).join(', ')}`);
  return (last.data?.main?.[output] ?? []).map((item) => item.json);
}

export interface ProxiedCall {
  method: string;
  /** Path and query, e.g. /webhook-waiting/12?signature=… */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** n8n's answer. */
  status: number;
}

/**
 * A loopback HTTP proxy in front of n8n's webhook endpoints that records every call (what the
 * Cortex service sent and what n8n answered). `hold` may delay forwarding a call (bounded by the
 * caller), e.g. to let one workflow reach a state before another is started.
 */
export class RecordingProxy {
  readonly calls: ProxiedCall[] = [];
  hold: ((call: Omit<ProxiedCall, 'status'>) => Promise<void>) | undefined;
  url = '';
  private readonly server: Server;
  private readonly targetPort: number;

  private constructor(targetPort: number) {
    this.targetPort = targetPort;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const call = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: body.toString('utf8') };
        void (this.hold?.(call) ?? Promise.resolve())
          .catch(() => {})
          .then(() => this.forward(call, body))
          .then(
            ({ status, headers, answer }) => {
              this.calls.push({ ...call, status });
              res.writeHead(status, headers);
              res.end(answer);
            },
            (error: Error) => {
              this.calls.push({ ...call, status: 502 });
              res.writeHead(502, { 'content-type': 'text/plain' });
              res.end(`proxy: ${error.message}`);
            },
          );
      });
    });
  }

  static async start(targetPort: number): Promise<RecordingProxy> {
    const proxy = new RecordingProxy(targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  private forward(call: Omit<ProxiedCall, 'status'>, body: Buffer): Promise<{ status: number; headers: IncomingHttpHeaders; answer: Buffer }> {
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: '127.0.0.1', port: this.targetPort, method: call.method, path: call.url, headers: call.headers, timeout: 30_000 },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, answer: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error('n8n did not answer within 30 s')));
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Wall time of a suite's named steps (printed after it): `timed(name, work)` records how long `work` took. */
export function stepTimings(): { timings: Record<string, number>; timed: <T>(name: string, work: () => Promise<T>) => Promise<T> } {
  const timings: Record<string, number> = {};
  async function timed<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      timings[name] = Math.round(performance.now() - started);
    }
  }
  return { timings, timed };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
