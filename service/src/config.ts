// Configuration: read from the environment once, validated, frozen. Nothing else in
// the service reads process.env.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { APPROVER_GROUP_NAME, APPROVER_IDENTITY } from './domain/approval-rules.ts';

const positiveInt = z.coerce.number().int().positive();

const TokenEntry = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  token: z.string().min(16, 'tokens must be at least 16 characters'),
  role: z.enum(['admin', 'contractor']).default('contractor'),
});
export type TokenEntry = z.infer<typeof TokenEntry>;

const Env = z.object({
  CORTEX_HOST: z.string().default('127.0.0.1'),
  CORTEX_PORT: z.coerce.number().int().min(0).max(65535).default(7300),
  CORTEX_DATABASE: z.string().min(1).default('.data/cortex.sqlite'),
  CORTEX_DATABASE_URL: z.string().optional(),
  CORTEX_DATABASE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain lowercase identifier (letters, digits, _)')
    .default('public'),
  CORTEX_DATABASE_POOL_SIZE: positiveInt.default(10),
  CORTEX_ADMIN_TOKEN: z.string().min(16, 'CORTEX_ADMIN_TOKEN must be at least 16 characters').optional(),
  CORTEX_CONTRACTOR_TOKENS: z.string().optional(),
  CORTEX_TOKENS_FILE: z.string().optional(),
  CORTEX_TLS_CERT: z.string().optional(),
  CORTEX_TLS_KEY: z.string().optional(),
  CORTEX_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'like 1mb or 512kb').default('1mb'),
  CORTEX_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CORTEX_SWEEP_INTERVAL_MS: positiveInt.default(1000),
  CORTEX_RELAY_INTERVAL_MS: positiveInt.default(500),
  CORTEX_DELIVERY_TIMEOUT_MS: positiveInt.default(10_000),
  CORTEX_DELIVERY_CONCURRENCY: positiveInt.default(16),
  CORTEX_DELIVERY_BACKOFF_MS: positiveInt.default(1000),
  CORTEX_TIMER_BATCH: positiveInt.default(500),
  CORTEX_TIMER_LEASE_MS: positiveInt.default(30_000),
  CORTEX_TIMER_CONCURRENCY: positiveInt.optional(),
  CORTEX_SHUTDOWN_GRACE_MS: positiveInt.default(10_000),
  CORTEX_APPROVER_GROUPS: z.string().optional(),
  CORTEX_APPROVAL_LINK_SECRET: z.string().min(32, 'CORTEX_APPROVAL_LINK_SECRET must be at least 32 characters').optional(),
  CORTEX_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'CORTEX_PUBLIC_URL must be an http(s) URL' }).optional(),
});

export interface Config {
  host: string;
  port: number;
  databasePath: string;
  /** PostgreSQL connection URL; when set, the service runs on PostgreSQL instead of the SQLite file. */
  databaseUrl: string | null;
  /** PostgreSQL schema holding the tables (created if missing); replicas of one deployment share it. */
  databaseSchema: string;
  /** Most PostgreSQL connections one replica opens. */
  databasePoolSize: number;
  /** Admin token when given; service.ts makes one (kept in a 0600 file) when not. */
  adminToken: string | null;
  tokens: readonly TokenEntry[];
  tls: { cert: string; key: string } | null;
  bodyLimit: string;
  logLevel: string;
  sweepIntervalMs: number;
  relayIntervalMs: number;
  deliveryTimeoutMs: number;
  deliveryConcurrency: number;
  /** Callback retry backoff base: the first retry waits up to this long, doubling per attempt. */
  deliveryBackoffMs: number;
  timerBatch: number;
  /** How long a sweeper's lease on a due timer lasts: a replica that dies holding it delays that timer by up to this. */
  timerLeaseMs: number;
  /** Due timers one replica fires at once; null: the store's default (SQLite 32, PostgreSQL 8; see service.ts). */
  timerConcurrency: number | null;
  shutdownGraceMs: number;
  /** Approver groups: name → identities (CORTEX_APPROVER_GROUPS='sre=alice,bob;security=carol'). */
  approverGroups: ReadonlyMap<string, readonly string[]>;
  /** HMAC key of the approval links; service.ts makes one (kept in a 0600 file) when not set. */
  approvalLinkSecret: string | null;
  /** Base of the approval links; null: the URL the service listens on. */
  publicUrl: string | null;
}

export class ConfigError extends Error {}

/** `name=token,name=token` (contractor tokens). */
function parseTokenList(list: string): TokenEntry[] {
  return list
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair, index) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new ConfigError(`CORTEX_CONTRACTOR_TOKENS entry ${index + 1} is not name=token`);
      return { name: pair.slice(0, eq), token: pair.slice(eq + 1), role: 'contractor' };
    });
}

/** `name=alice,bob;name2=carol` (approver groups). */
export function parseApproverGroups(text: string | undefined): Map<string, readonly string[]> {
  const groups = new Map<string, readonly string[]>();
  for (const [index, entry] of (text ?? '').split(';').map((e) => e.trim()).filter(Boolean).entries()) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    if (!APPROVER_GROUP_NAME.test(name)) throw new ConfigError(`CORTEX_APPROVER_GROUPS entry ${index + 1} is not name=identity,identity (lowercase group name)`);
    if (groups.has(name)) throw new ConfigError(`CORTEX_APPROVER_GROUPS names group ${name} twice`);
    const members = entry.slice(eq + 1).split(',').map((m) => m.trim()).filter(Boolean);
    const bad = members.find((m) => !APPROVER_IDENTITY.test(m));
    if (members.length === 0 || bad !== undefined) throw new ConfigError(`CORTEX_APPROVER_GROUPS group ${name}: ${bad === undefined ? 'no members' : `"${bad}" is not an approver identity`}`);
    groups.set(name, Object.freeze([...new Set(members)]));
  }
  return groups;
}

function describe(issues: z.core.$ZodIssue[], prefix: string): string {
  return issues.map((issue) => `${prefix}${issue.path.join('.')}: ${issue.message}`).join('; ');
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new ConfigError(`invalid configuration: ${describe(parsed.error.issues, '')}`);
  const e = parsed.data;

  const raw: unknown[] = [];
  if (e.CORTEX_CONTRACTOR_TOKENS) raw.push(...parseTokenList(e.CORTEX_CONTRACTOR_TOKENS));
  if (e.CORTEX_TOKENS_FILE) {
    let text: string;
    try {
      text = readFileSync(e.CORTEX_TOKENS_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(`CORTEX_TOKENS_FILE cannot be read: ${(error as Error).message}`);
    }
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      throw new ConfigError('CORTEX_TOKENS_FILE is not valid JSON (expected [{"name","token","role"}])');
    }
    if (!Array.isArray(list)) throw new ConfigError('CORTEX_TOKENS_FILE must hold a JSON array');
    raw.push(...list);
  }
  const tokens = z.array(TokenEntry).safeParse(raw);
  if (!tokens.success) throw new ConfigError(`invalid tokens: ${describe(tokens.error.issues, 'tokens.')}`);
  const names = new Set<string>();
  for (const entry of tokens.data) {
    if (names.has(entry.name)) throw new ConfigError(`token name ${entry.name} is configured twice`);
    names.add(entry.name);
  }
  if ((e.CORTEX_TLS_CERT === undefined) !== (e.CORTEX_TLS_KEY === undefined)) {
    throw new ConfigError('CORTEX_TLS_CERT and CORTEX_TLS_KEY go together');
  }
  const tls = e.CORTEX_TLS_CERT && e.CORTEX_TLS_KEY ? { cert: e.CORTEX_TLS_CERT, key: e.CORTEX_TLS_KEY } : null;
  return Object.freeze({
    host: e.CORTEX_HOST,
    port: e.CORTEX_PORT,
    databasePath: e.CORTEX_DATABASE,
    databaseUrl: e.CORTEX_DATABASE_URL || null,
    databaseSchema: e.CORTEX_DATABASE_SCHEMA,
    databasePoolSize: e.CORTEX_DATABASE_POOL_SIZE,
    adminToken: e.CORTEX_ADMIN_TOKEN ?? null,
    tokens: Object.freeze(tokens.data),
    tls,
    bodyLimit: e.CORTEX_BODY_LIMIT,
    logLevel: e.CORTEX_LOG_LEVEL,
    sweepIntervalMs: e.CORTEX_SWEEP_INTERVAL_MS,
    relayIntervalMs: e.CORTEX_RELAY_INTERVAL_MS,
    deliveryTimeoutMs: e.CORTEX_DELIVERY_TIMEOUT_MS,
    deliveryConcurrency: e.CORTEX_DELIVERY_CONCURRENCY,
    deliveryBackoffMs: e.CORTEX_DELIVERY_BACKOFF_MS,
    timerBatch: e.CORTEX_TIMER_BATCH,
    timerLeaseMs: e.CORTEX_TIMER_LEASE_MS,
    timerConcurrency: e.CORTEX_TIMER_CONCURRENCY ?? null,
    shutdownGraceMs: e.CORTEX_SHUTDOWN_GRACE_MS,
    approverGroups: parseApproverGroups(e.CORTEX_APPROVER_GROUPS),
    approvalLinkSecret: e.CORTEX_APPROVAL_LINK_SECRET ?? null,
    publicUrl: e.CORTEX_PUBLIC_URL ? e.CORTEX_PUBLIC_URL.replace(/\/+$/, '') : null,
  });
}
