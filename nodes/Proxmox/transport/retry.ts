// Settings from the node's options, retry presets with exponential backoff and jitter, and
// pauses through n8n-workflow's sleep that stop when the execution is cancelled.

import { sleep } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, ILoadOptionsFunctions } from 'n8n-workflow';
import { ProxmoxError } from './errors.ts';

export type ProxmoxContext = IExecuteFunctions | ILoadOptionsFunctions;

export interface ClientSettings {
  /** Wait until a long operation's task has ended (else return its UPID at once). */
  waitForTask: boolean;
  taskTimeoutMs: number;
  /** Base task status poll interval; long tasks are polled less often (up to 5×). */
  pollIntervalMs: number;
  /** Wait while the guest is locked by a clone, migration, backup… and retry lock-file timeouts. */
  waitForLock: boolean;
  lockWaitTimeoutMs: number;
  /** Retries of transient failures (5xx from proxies, "got no worker upid", network errors). */
  maxRetries: number;
  retryDelayMs: number;
  dryRun: boolean;
}

export const DEFAULT_SETTINGS: ClientSettings = {
  waitForTask: true,
  taskTimeoutMs: 600_000,
  pollIntervalMs: 1000,
  waitForLock: true,
  lockWaitTimeoutMs: 600_000,
  maxRetries: 5,
  retryDelayMs: 1000,
  dryRun: false,
};

const clamp = (value: unknown, min: number, max: number, fallback: number): number => {
  const n = Number(value);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : fallback;
};

/** Settings from an operation's "Options" collection (every field optional). */
export function settingsFrom(options: IDataObject): ClientSettings {
  const d = DEFAULT_SETTINGS;
  return {
    waitForTask: options.waitForTask === undefined ? d.waitForTask : options.waitForTask === true,
    taskTimeoutMs: clamp(options.taskTimeout, 1, 86_400, d.taskTimeoutMs / 1000) * 1000,
    pollIntervalMs: clamp(options.pollInterval, 20, 60_000, d.pollIntervalMs),
    waitForLock: options.waitForLock === undefined ? d.waitForLock : options.waitForLock === true,
    lockWaitTimeoutMs: clamp(options.lockWaitTimeout, 0, 86_400, d.lockWaitTimeoutMs / 1000) * 1000,
    maxRetries: Math.round(clamp(options.maxRetries, 0, 20, d.maxRetries)),
    retryDelayMs: clamp(options.retryDelay, 10, 60_000, d.retryDelayMs),
    dryRun: options.dryRun === true,
  };
}

export interface RetryPreset {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** bpg/terraform-provider-proxmox style presets, sized from the settings. */
export function presets(settings: ClientSettings): { read: RetryPreset; write: RetryPreset; lock: RetryPreset } {
  return {
    // GETs: idempotent; a few quick retries.
    read: { attempts: Math.min(settings.maxRetries, 3) + 1, baseDelayMs: Math.max(10, settings.retryDelayMs / 2), maxDelayMs: 10_000 },
    // Task dispatch and synchronous writes.
    write: { attempts: settings.maxRetries + 1, baseDelayMs: settings.retryDelayMs, maxDelayMs: 30_000 },
    // Lock-file timeouts: always safe to retry (nothing was done); bounded by the lock wait timeout.
    lock: { attempts: 1000, baseDelayMs: settings.retryDelayMs, maxDelayMs: 15_000 },
  };
}

/**
 * Exponential backoff with "equal jitter": between half and all of base·2^(attempt-1), capped.
 * The random half spreads contenders apart (parallel clones of one template), the fixed half
 * keeps a floor so a retry never comes back at once.
 */
export function backoffDelay(attempt: number, preset: Pick<RetryPreset, 'baseDelayMs' | 'maxDelayMs'>): number {
  const ceiling = Math.min(preset.maxDelayMs, preset.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

/** Task status / lock polls: the base interval at first, then 25 % longer each time, at most 5× the base. */
export function pollDelay(poll: number, baseMs: number): number {
  return Math.min(baseMs * 5, Math.round(baseMs * 1.25 ** poll));
}

export function throwIfCancelled(ctx: ProxmoxContext): void {
  const signal = 'getExecutionCancelSignal' in ctx ? ctx.getExecutionCancelSignal() : undefined;
  if (signal?.aborted) throw new ProxmoxError('The execution was cancelled', { kind: 'timeout' });
}

export async function pause(ctx: ProxmoxContext, ms: number): Promise<void> {
  throwIfCancelled(ctx);
  await sleep(ms);
  throwIfCancelled(ctx);
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A promise's outcome as a value, so retry loops decide outside of catch blocks. */
export async function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
