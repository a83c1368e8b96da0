// The one transport primitive (one HTTP call through n8n's httpRequestWithAuthentication with
// the {data} envelope and typed errors) and what is built on it: reads with retries, writes with
// retries, and long operations (dispatch → UPID → wait) with retries, lock waits and
// already-done checks.

import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IHttpRequestMethods, IHttpRequestOptions, IN8nHttpFullResponse } from 'n8n-workflow';
import { cleanParams, type ApiParams } from './encode.ts';
import { isLockTimeout, isNoWorker, isTransient, ProxmoxError, waitableLock } from './errors.ts';
import { isLoginError } from './login.ts';
import { backoffDelay, pause, pollDelay, presets, settle, throwIfCancelled, type ClientSettings, type ProxmoxContext } from './retry.ts';
import { waitForTask, type TaskResult } from './tasks.ts';

export interface RequestSpec {
  method: IHttpRequestMethods;
  /** Path below /api2/json, e.g. /nodes/pve1/qemu/100/status/start. */
  path: string;
  params?: ApiParams;
}

export interface Envelope<T> {
  data: T;
  total?: number;
}

export type GuestKind = 'qemu' | 'lxc';

export interface GuestRef {
  kind: GuestKind;
  node: string;
  vmid: number;
}

export interface TaskCall extends RequestSpec {
  /** The guest the operation works on: its locks are waited for. */
  guest?: GuestRef;
  /**
   * After an attempt that may have been carried out (the answer was lost), a failure that shows
   * the work is already done ("already exists", "already running", "does not exist" for a
   * delete) ends the operation as a success. Never consulted after a first clean attempt.
   */
  alreadyDone?: (error: ProxmoxError) => boolean | Promise<boolean>;
}

export interface TaskOutcome {
  upid?: string;
  result?: TaskResult;
  alreadyDone?: boolean;
  /** The error that showed the work was already done. */
  doneBy?: string;
  attempts: number;
  lockWaits: number;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|EPROTO|ERR_SSL/;
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export class ProxmoxClient {
  readonly ctx: ProxmoxContext;
  private originValue: Promise<string> | undefined;
  /** HTTP calls made through this client. */
  calls = 0;
  /** Shortest wait seen per task type in this execution: later waits for the same type poll first near it. */
  private readonly taskWaits = new Map<string, number>();
  private guestListing: Promise<Array<{ vmid?: number; node?: string; type?: string }>> | undefined;

  constructor(ctx: ProxmoxContext) {
    this.ctx = ctx;
  }

  /** https://host:8006 from the credential. */
  origin(): Promise<string> {
    this.originValue ??= (async () => {
      const credentials = await this.ctx.getCredentials('proxmoxApi');
      const origin = String(credentials.baseUrl ?? '')
        .trim()
        .replace(/\/+$/, '')
        .replace(/\/api2\/json$/, '');
      if (!/^https?:\/\/[^/]+$/.test(origin)) {
        throw new NodeOperationError(this.ctx.getNode(), `The credential's Base URL "${String(credentials.baseUrl)}" is not like https://host:8006`);
      }
      return origin;
    })();
    return this.originValue;
  }

  /**
   * With username/password and no ticket yet, logs in once (through a cheap GET /version)
   * before items run in parallel — else every parallel item would log in by itself.
   */
  async warmUp(settings: ClientSettings): Promise<void> {
    const credentials = await this.ctx.getCredentials('proxmoxApi');
    if (credentials.authMethod !== 'ticket' || (typeof credentials.session === 'string' && credentials.session.startsWith('{'))) return;
    await this.get('/version', undefined, settings);
  }

  /** When a task of this type is likely done, from earlier waits in this execution (0: unknown). */
  expectedTaskMs(type: string): number {
    return this.taskWaits.get(type) ?? 0;
  }

  recordTaskWait(type: string, waitedMs: number): void {
    this.taskWaits.set(type, Math.min(waitedMs, this.taskWaits.get(type) ?? Number.POSITIVE_INFINITY));
  }

  /** The guests of the cluster (/cluster/resources?type=vm), listed once per execution unless `fresh`. */
  async guests(settings: ClientSettings, fresh = false): Promise<Array<{ vmid?: number; node?: string; type?: string }>> {
    if (fresh || !this.guestListing) {
      this.guestListing = this.get<Array<{ vmid?: number; node?: string; type?: string }>>('/cluster/resources', { type: 'vm' }, settings).then((list) => list ?? []);
    }
    return await this.guestListing;
  }

  /** The node a guest is on (from the execution's listing; listed again once on a miss). */
  async nodeOf(kind: GuestKind, vmid: number, settings: ClientSettings): Promise<string | undefined> {
    const find = (list: Array<{ vmid?: number; node?: string; type?: string }>) => list.find((r) => Number(r.vmid) === vmid && r.type === kind)?.node;
    const listed = this.guestListing !== undefined;
    const found = find(await this.guests(settings));
    if (found || !listed) return found;
    return find(await this.guests(settings, true));
  }

  /** One HTTP call; the whole envelope. Throws ProxmoxError. */
  async envelope<T>(spec: RequestSpec): Promise<Envelope<T>> {
    throwIfCancelled(this.ctx);
    const origin = await this.origin();
    const params = cleanParams(spec.params ?? {});
    const withBody = spec.method === 'POST' || spec.method === 'PUT';
    const options: IHttpRequestOptions = {
      method: spec.method,
      url: `${origin}/api2/json${spec.path}`,
      json: true,
      returnFullResponse: true,
      // A 401 must throw: n8n then renews the ticket (preAuthentication) and sends again.
      ignoreHttpStatusErrors: { ignore: true, except: [401] },
      timeout: 120_000,
      ...(withBody
        ? { body: new URLSearchParams(params).toString(), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }
        : Object.keys(params).length
          ? { qs: params }
          : {}),
    };
    this.calls += 1;
    const sent = await settle(this.ctx.helpers.httpRequestWithAuthentication.call(this.ctx, 'proxmoxApi', options) as Promise<IN8nHttpFullResponse>);
    if (!sent.ok) throw this.transportError(sent.error, spec, origin);
    const response = sent.value;
    const body = (response.body ?? {}) as { data?: T; message?: string; errors?: Record<string, string>; total?: number };
    if (response.statusCode >= 400) {
      const message = String(body.message ?? '').trim() || String(response.statusMessage ?? '').trim() || `HTTP ${response.statusCode}`;
      throw new ProxmoxError(message, {
        kind: 'http',
        httpCode: response.statusCode,
        method: spec.method,
        path: spec.path,
        ...(body.errors && typeof body.errors === 'object' ? { paramErrors: body.errors } : {}),
        // A 5xx (often from the proxy in front of the node) may come after the work was done.
        uncertain: spec.method !== 'GET' && response.statusCode >= 500,
      });
    }
    return { data: body.data as T, ...(typeof body.total === 'number' ? { total: body.total } : {}) };
  }

  /** One HTTP call; its `data`. */
  async call<T>(spec: RequestSpec): Promise<T> {
    return (await this.envelope<T>(spec)).data;
  }

  /** GET with retries of transient failures. */
  async get<T>(path: string, params: ApiParams | undefined, settings: ClientSettings): Promise<T> {
    return (await this.getEnvelope<T>(path, params, settings)).data;
  }

  async getEnvelope<T>(path: string, params: ApiParams | undefined, settings: ClientSettings): Promise<Envelope<T>> {
    const preset = presets(settings).read;
    for (let attempt = 1; ; attempt++) {
      const result = await settle(this.envelope<T>({ method: 'GET', path, ...(params ? { params } : {}) }));
      if (result.ok) return result.value;
      if (attempt >= preset.attempts || !isTransient(result.error)) throw result.error;
      await pause(this.ctx, backoffDelay(attempt, preset));
    }
  }

  /** A synchronous write (PUT config, PUT cloudinit) with retries, lock waits and lock-timeout retries. */
  async write<T>(call: TaskCall, settings: ClientSettings): Promise<{ data: T; alreadyDone: boolean; attempts: number; lockWaits: number }> {
    const outcome = await this.dispatchLoop<T>(call, settings, async (data) => ({ data: data as T }));
    return { data: outcome.value?.data as T, alreadyDone: outcome.alreadyDone === true, attempts: outcome.attempts, lockWaits: outcome.lockWaits };
  }

  /**
   * A long operation: send it, then (settings.waitForTask) wait for its UPID task.
   * - transient failures (5xx from proxies, "got no worker upid", network) → resent with backoff, up to maxRetries;
   * - "can't lock file … got timeout" (on the call or as the task's exit status) → resent with
   *   backoff: nothing was done; bounded by the lock wait timeout;
   * - "VM is locked (clone)" and other locks that end by themselves → wait until the guest's
   *   config has no such lock, then resend; bounded by the lock wait timeout;
   * - after an attempt that may have been carried out, `alreadyDone` turns the matching failure into success;
   * - any other task failure is final (the work may be half done: never resent blindly).
   */
  async runTask(call: TaskCall, settings: ClientSettings): Promise<TaskOutcome> {
    const outcome = await this.dispatchLoop<TaskResult | undefined>(call, settings, async (data, state) => {
      const upid = typeof data === 'string' ? data : undefined;
      state.upid = upid;
      if (!upid || !settings.waitForTask) return { data: undefined };
      return { data: await waitForTask(this, upid, settings) };
    });
    return {
      ...(outcome.upid ? { upid: outcome.upid } : {}),
      ...(outcome.value?.data ? { result: outcome.value.data } : {}),
      ...(outcome.alreadyDone ? { alreadyDone: true, doneBy: outcome.doneBy } : {}),
      attempts: outcome.attempts,
      lockWaits: outcome.lockWaits,
    };
  }

  private async dispatchLoop<T>(
    call: TaskCall,
    settings: ClientSettings,
    after: (data: unknown, state: { upid?: string }) => Promise<{ data: T }>,
  ): Promise<{ value?: { data: T }; upid?: string; alreadyDone?: boolean; doneBy?: string; attempts: number; lockWaits: number }> {
    const { write, lock } = presets(settings);
    const lockDeadline = Date.now() + settings.lockWaitTimeoutMs;
    let transientRetries = 0;
    let lockRetries = 0;
    let lockWaits = 0;
    let uncertain = false;
    let attempts = 0;
    const state: { upid?: string } = {};
    // Bounded: each pass either returns, throws, or uses up one of the bounded budgets below.
    for (let pass = 0; pass < write.attempts + lock.attempts + 100; pass++) {
      attempts += 1;
      state.upid = undefined;
      const dispatched = await settle(this.call<unknown>(call));
      const finished = dispatched.ok ? await settle(after(dispatched.value, state)) : undefined;
      if (finished?.ok) return { value: finished.value, ...(state.upid ? { upid: state.upid } : {}), attempts, lockWaits };
      const phase: 'dispatch' | 'task' = dispatched.ok ? 'task' : 'dispatch';
      const error = dispatched.ok ? finished!.error : dispatched.error;
      if (!(error instanceof ProxmoxError)) throw error;
      if (uncertain && call.alreadyDone && (await call.alreadyDone(error))) {
        return { ...(state.upid ? { upid: state.upid } : {}), alreadyDone: true, doneBy: error.message, attempts, lockWaits };
      }
      if (phase === 'task' && error.kind !== 'task') throw error; // wait timeout or poll failure: the task may still run
      const canWaitForLocks = settings.waitForLock && Date.now() < lockDeadline;
      if (waitableLock(error) && call.guest && canWaitForLocks) {
        lockWaits += 1;
        await this.waitForUnlock(call.guest, lockDeadline, settings);
        continue;
      }
      if (isLockTimeout(error) && canWaitForLocks && lockRetries < lock.attempts) {
        lockRetries += 1;
        await pause(this.ctx, Math.min(backoffDelay(lockRetries, lock), Math.max(0, lockDeadline - Date.now())));
        continue;
      }
      if (phase === 'dispatch' && isTransient(error) && !isLockTimeout(error) && transientRetries < settings.maxRetries) {
        transientRetries += 1;
        // Unless the server said it did not start anything, the lost attempt may have been carried out.
        if (!isNoWorker(error) && error.details.uncertain === true) uncertain = true;
        await pause(this.ctx, backoffDelay(transientRetries, write));
        continue;
      }
      throw error;
    }
    throw new ProxmoxError(`Gave up on ${call.method} ${call.path} after ${attempts} attempts`, { kind: 'timeout', method: call.method, path: call.path });
  }

  /**
   * Polls the guest's config until it carries no lock that ends by itself (bounded by `deadline`).
   * `checkFirst`: look before the first pause (when the guest is not known to be locked).
   */
  async waitForUnlock(guest: GuestRef, deadline: number, settings: ClientSettings, checkFirst = false): Promise<void> {
    const path = `/nodes/${encodeURIComponent(guest.node)}/${guest.kind}/${guest.vmid}/config`;
    for (let poll = 0; poll < 100_000; poll++) {
      if (poll > 0 || !checkFirst) await pause(this.ctx, Math.max(0, Math.min(pollDelay(poll, settings.pollIntervalMs), deadline - Date.now())));
      const config = await this.get<IDataObject>(path, undefined, settings);
      const lock = typeof config?.lock === 'string' ? config.lock : undefined;
      if (!lock || !waitableLock(new ProxmoxError(`VM is locked (${lock})`, { kind: 'http' }))) return;
      if (Date.now() >= deadline) {
        throw new ProxmoxError(`${guest.kind === 'qemu' ? 'VM' : 'CT'} ${guest.vmid} is still locked (${lock}) after ${Math.round(settings.lockWaitTimeoutMs / 1000)} s`, {
          kind: 'timeout',
          path,
        });
      }
    }
  }

  private transportError(error: unknown, spec: RequestSpec, origin: string): ProxmoxError {
    const e = error as {
      message?: string;
      httpCode?: string;
      code?: string;
      description?: string;
      cause?: { code?: string; message?: string; status?: number; response?: { status?: number; statusText?: string }; cause?: { code?: string } };
    };
    // The credential's login (preAuthentication) failed: its error is already worded for the user
    // and holds no secret. n8n wraps it in a NodeApiError (as `cause`).
    const login = [error, e.cause].find(isLoginError);
    if (login && login.kind !== 'tls' && login.kind !== 'network') {
      return new ProxmoxError(login.message, {
        kind: login.kind === 'http' ? 'http' : 'auth',
        ...(login.loginStatus !== undefined && login.loginStatus >= 400 ? { httpCode: login.loginStatus } : {}),
        method: 'POST',
        path: '/access/ticket',
      });
    }
    const status = Number(e.httpCode ?? e.cause?.response?.status ?? e.cause?.status ?? 0);
    if (status === 401) {
      const reason = e.cause?.response?.statusText || 'authentication failure';
      return new ProxmoxError(`Authentication failed: ${reason}. Check the Proxmox credential (token ID and secret, or username, realm and password).`, {
        kind: 'auth',
        httpCode: 401,
        method: spec.method,
        path: spec.path,
      });
    }
    const code = e.cause?.code ?? e.code ?? e.cause?.cause?.code;
    const text = `${e.message ?? ''} ${e.description ?? ''} ${e.cause?.message ?? ''}`;
    if ((code && TLS_CODES.test(code)) || /certificate|self[- ]signed/i.test(text)) {
      return new ProxmoxError(
        `The TLS certificate of ${origin} could not be verified (${code ?? 'certificate error'}). Paste the cluster's CA certificate (/etc/pve/pve-root-ca.pem) into the credential's "CA Certificate" field, or turn on "Ignore SSL Issues".`,
        { kind: 'tls', ...(code ? { code } : {}), method: spec.method, path: spec.path },
      );
    }
    return new ProxmoxError(`Cannot reach ${origin}: ${code ?? e.message ?? 'network error'}`, {
      kind: 'network',
      ...(code ? { code } : {}),
      method: spec.method,
      path: spec.path,
      uncertain: spec.method !== 'GET' && !(code && NOT_SENT_CODES.has(code)),
    });
  }
}
