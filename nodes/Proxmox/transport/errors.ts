// Typed Proxmox failures and how they become n8n errors.
//
// Every failure the transport sees is a ProxmoxError with a kind:
//   http    the API answered 4xx/5xx (message from the body or the HTTP reason phrase,
//           per-parameter errors from a 400 "Parameter verification failed.")
//   task    a UPID task stopped with an error exit status (with the tail of its log)
//   timeout a task or a lock did not finish within the configured time
//   network the request did not get an answer (refused, reset, DNS, timeout)
//   tls     the server certificate could not be verified
//   auth    401 after n8n renewed the credential
// The classifiers below drive retries, lock waits and the already-done checks.

import { NodeApiError } from 'n8n-workflow';
import type { INode, JsonObject } from 'n8n-workflow';

export type ProxmoxErrorKind = 'http' | 'task' | 'timeout' | 'network' | 'tls' | 'auth';

export interface ProxmoxErrorDetails {
  kind: ProxmoxErrorKind;
  httpCode?: number;
  paramErrors?: Record<string, string>;
  method?: string;
  path?: string;
  upid?: string;
  exitStatus?: string;
  logTail?: string[];
  code?: string;
  /** The request may have been carried out although it failed (connection lost after sending, 5xx from a proxy). */
  uncertain?: boolean;
}

export class ProxmoxError extends Error {
  details: ProxmoxErrorDetails;

  constructor(message: string, details: ProxmoxErrorDetails) {
    super(message);
    this.name = 'ProxmoxError';
    this.details = details;
  }

  get kind(): ProxmoxErrorKind {
    return this.details.kind;
  }
}

const TRANSIENT_STATUS = new Set([502, 503, 504, 595, 596, 599]);
const TRANSIENT_TEXT = /got timeout|got no worker upid|temporar|try again later|connection (refused|reset|timed out)|proxy error|broken pipe|unable to read tail|^internal server error$|^$/i;
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Locks that end by themselves (a running clone, migration, backup…); worth waiting for. */
const WAITABLE_LOCKS = new Set(['clone', 'create', 'migrate', 'backup', 'snapshot', 'snapshot-delete', 'rollback', 'disk', 'fstrim', 'suspending']);

function isProxmox(error: unknown): error is ProxmoxError {
  return error instanceof ProxmoxError;
}

/** "can't lock file '…' - got timeout": another operation held the guest's lock file too long. Nothing was done. */
export function isLockTimeout(error: unknown): boolean {
  return isProxmox(error) && /can't lock file .* got timeout/.test(error.message);
}

/** "got no worker upid": the server could not start the task. Nothing was done. */
export function isNoWorker(error: unknown): boolean {
  return isProxmox(error) && /got no worker upid/.test(error.message);
}

/** The lock of "VM is locked (clone)" / "CT is locked (migrate)" when it is one that ends by itself. */
export function waitableLock(error: unknown): string | undefined {
  if (!isProxmox(error)) return undefined;
  const lock = /\b(?:VM|CT) is locked \(([\w-]+)\)/.exec(error.message)?.[1];
  return lock && WAITABLE_LOCKS.has(lock) ? lock : undefined;
}

/** Worth retrying: 5xx from proxies, known transient texts, network errors. Not business errors. */
export function isTransient(error: unknown): boolean {
  if (!isProxmox(error)) return false;
  const { kind, httpCode, code } = error.details;
  if (kind === 'network') return code === undefined || TRANSIENT_CODES.has(code);
  if (kind !== 'http' || httpCode === undefined || httpCode < 500) return false;
  return TRANSIENT_STATUS.has(httpCode) || TRANSIENT_TEXT.test(error.message.trim());
}

export function isAlreadyExists(error: unknown): boolean {
  return isProxmox(error) && /already exists/.test(error.message);
}

export function isMissing(error: unknown): boolean {
  return isProxmox(error) && /does not exist/.test(error.message);
}

export function messageMatches(error: unknown, pattern: RegExp): boolean {
  return isProxmox(error) && pattern.test(error.message);
}

/** An n8n NodeApiError carrying what the user needs: Proxmox's message, the request, the task's exit status and log tail. */
export function toNodeApiError(node: INode, error: ProxmoxError, itemIndex: number): NodeApiError {
  const d = error.details;
  const lines: string[] = [];
  if (d.method && d.path) lines.push(`${d.method} ${d.path}${d.httpCode ? ` → HTTP ${d.httpCode}` : ''}`);
  for (const [param, problem] of Object.entries(d.paramErrors ?? {})) lines.push(`${param}: ${problem}`);
  if (d.upid) lines.push(`Task ${d.upid}`);
  if (d.exitStatus) lines.push(`Exit status: ${d.exitStatus}`);
  if (d.logTail?.length) lines.push('Task log (last lines):', ...d.logTail);
  const response: JsonObject = {
    message: error.message,
    kind: d.kind,
    ...(d.httpCode !== undefined ? { httpCode: d.httpCode } : {}),
    ...(d.paramErrors ? { errors: d.paramErrors } : {}),
    ...(d.upid ? { upid: d.upid } : {}),
    ...(d.exitStatus ? { exitStatus: d.exitStatus } : {}),
  };
  const task = d.upid ? /^UPID:[^:]+:[^:]+:[^:]+:[^:]+:([^:]+):([^:]*):/.exec(d.upid) : null;
  const message = d.kind === 'task' && task ? `Proxmox task ${task[1]} ${task[2]} failed: ${error.message}` : error.message;
  const apiError = new NodeApiError(node, response, {
    message,
    description: lines.join('\n'),
    ...(d.httpCode !== undefined ? { httpCode: String(d.httpCode) } : {}),
    itemIndex,
  });
  apiError.context.kind = d.kind;
  if (d.upid) apiError.context.upid = d.upid;
  if (d.exitStatus) apiError.context.exitStatus = d.exitStatus;
  if (d.logTail) apiError.context.logTail = d.logTail;
  if (d.paramErrors) apiError.context.paramErrors = d.paramErrors;
  return apiError;
}
