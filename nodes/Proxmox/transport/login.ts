// Ticket login (POST /access/ticket) with an optional TOTP second factor, as Proxmox VE's
// pve-access-control does it:
//
// - PVE ≥ 7.1 (`new-format=1`; from PVE 8 the only format): the password step of a user with a
//   second factor answers with a *partial* ticket (`PVE:!tfa!<challenge>:…`, `NeedTFA: 1`) that no
//   API call accepts. The client answers the challenge with a second POST: `username`,
//   `tfa-challenge=<partial ticket>`, `password=totp:<code>`, and gets the full ticket.
// - PVE ≤ 7.0 does not know `new-format` (400 on that parameter): the code goes as `otp` with the
//   password in one call.
// - A renewal (POST with the current, still valid ticket as the password) needs no second factor.
//   This package does not renew ahead of time: n8n logs in again when the server answers 401.
//
// Every failure becomes a ProxmoxLoginError whose message names the step that failed and never
// the password, the TOTP secret or code, or a ticket; the underlying HTTP error (whose request
// options hold the form body) is not kept.

import { createHash } from 'node:crypto';
import type { IDataObject, IHttpRequestOptions, IN8nHttpFullResponse } from 'n8n-workflow';
import { base32Problem, totp } from './totp.ts';

export interface LoginInput {
  /** https://host:8006 */
  origin: string;
  username: string;
  password: string;
  realm?: string;
  /** base32; empty when the user has no second factor. */
  totpSecret?: string;
  /** CA pinning / insecure switch, passed to every login request. */
  tls: Partial<IHttpRequestOptions>;
  /** For tests: the time the TOTP code is computed for. */
  now?: () => number;
}

export interface Session {
  ticket: string;
  csrf: string;
  /** user@realm the ticket was issued for. */
  user: string;
  /** Digest of the origin and user the session belongs to: a session of another server or user is not sent. */
  scope: string;
}

export type LoginFailureKind = 'password' | 'tfa-missing' | 'tfa-unsupported' | 'tfa-code' | 'tfa-secret' | 'http' | 'tls' | 'network';

export class ProxmoxLoginError extends Error {
  kind: LoginFailureKind;
  /** HTTP status of the login answer (not named status/statusCode: n8n would replace the message with a generic one). */
  loginStatus?: number;
  /** Network / TLS error code (ECONNREFUSED, SELF_SIGNED_CERT_IN_CHAIN…). */
  code?: string;

  constructor(message: string, kind: LoginFailureKind, extra: { loginStatus?: number; code?: string } = {}) {
    super(message);
    this.name = 'ProxmoxLoginError';
    this.kind = kind;
    if (extra.loginStatus !== undefined) this.loginStatus = extra.loginStatus;
    if (extra.code !== undefined) this.code = extra.code;
  }
}

export function isLoginError(error: unknown): error is ProxmoxLoginError {
  return error instanceof Error && error.name === 'ProxmoxLoginError' && typeof (error as ProxmoxLoginError).kind === 'string';
}

/** user@realm as Proxmox resolves it: the username's own realm, else the realm field, else pam. */
export function userId(username: string, realm?: string): string {
  const name = username.trim();
  return name.includes('@') ? name : `${name}@${(realm ?? '').trim() || 'pam'}`;
}

export function sessionScope(origin: string, user: string): string {
  return createHash('sha256').update(`${origin}\n${user}`).digest('hex').slice(0, 16);
}

export function parseSession(value: unknown): Session | undefined {
  if (typeof value !== 'string' || !value.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<Session>;
    if (typeof parsed.ticket !== 'string' || typeof parsed.csrf !== 'string') return undefined;
    return { ticket: parsed.ticket, csrf: parsed.csrf, user: String(parsed.user ?? ''), scope: String(parsed.scope ?? '') };
  } catch {
    return undefined;
  }
}

type HttpRequest = (options: IHttpRequestOptions) => Promise<unknown>;

interface TicketData {
  ticket?: string;
  CSRFPreventionToken?: string;
  username?: string;
  NeedTFA?: number | boolean | string;
}

interface Answer {
  status: number;
  reason: string;
  data?: TicketData;
  errors?: Record<string, string>;
}

const NETWORK_HINT = /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|EPROTO|ERR_SSL/;

async function postTicket(http: HttpRequest, input: LoginInput, form: Record<string, string>): Promise<Answer> {
  const sent = await http({
    method: 'POST',
    url: `${input.origin}/api2/json/access/ticket`,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    json: true,
    returnFullResponse: true,
    ignoreHttpStatusErrors: true,
    timeout: 30_000,
    ...input.tls,
  }).then(
    (value) => ({ ok: true as const, response: value as IN8nHttpFullResponse }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (!sent.ok) {
    // No HTTP answer (refused, reset, TLS). Keep the code and the library's message, which name
    // neither the body nor the headers; drop the error object itself (its config holds the body).
    const e = sent.error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e.code ?? e.cause?.code;
    const message = String(e.cause?.message ?? e.message ?? 'network error').split('\n')[0]!;
    const tls = (code && NETWORK_HINT.test(code)) || /certificate|self[- ]signed/i.test(message);
    throw new ProxmoxLoginError(`Proxmox login: cannot reach ${input.origin}: ${code ?? message}`, tls ? 'tls' : 'network', code ? { code } : {});
  }
  const response = sent.response;
  const body = (response.body ?? {}) as { data?: TicketData; message?: string; errors?: Record<string, string> };
  const reason = String(body.message ?? '').trim() || String(response.statusMessage ?? '').trim() || `HTTP ${response.statusCode}`;
  return {
    status: response.statusCode,
    reason,
    ...(body.data && typeof body.data === 'object' ? { data: body.data } : {}),
    ...(body.errors && typeof body.errors === 'object' ? { errors: body.errors } : {}),
  };
}

function isPartial(data: TicketData | undefined): boolean {
  const need = data?.NeedTFA;
  return (need !== undefined && need !== null && need !== 0 && need !== '0' && need !== false) || String(data?.ticket ?? '').startsWith('PVE:!tfa!');
}

/** The second factors a partial ticket offers (`PVE:!tfa!<url-encoded JSON>:…`), or undefined if it cannot be read. */
export function challengeOf(ticket: string): IDataObject | undefined {
  const m = /^PVE:!tfa!([^:]*):/.exec(ticket);
  if (!m) return undefined;
  try {
    const parsed = JSON.parse(decodeURIComponent(m[1]!)) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as IDataObject) : undefined;
  } catch {
    return undefined;
  }
}

function code(input: LoginInput): string {
  const secret = String(input.totpSecret ?? '');
  // base32Problem's messages never repeat the secret.
  const problem = base32Problem(secret);
  if (problem) throw new ProxmoxLoginError(`Proxmox login: ${problem}. Paste the base32 secret shown when the TOTP factor was added.`, 'tfa-secret');
  return totp(secret, input.now?.() ?? Date.now());
}

/** `text` with every secret that was sent replaced (a proxy or a parameter error might echo one back). */
function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

function failed(raw: Answer, user: string, step: 'password' | 'legacy-otp' | 'tfa-code', sent: Record<string, string>): ProxmoxLoginError {
  const secrets = [sent.password ?? '', sent.otp ?? '', sent['tfa-challenge'] ?? ''].sort((a, b) => b.length - a.length);
  const answer: Answer = {
    ...raw,
    reason: redact(raw.reason, secrets),
    ...(raw.errors ? { errors: Object.fromEntries(Object.entries(raw.errors).map(([k, v]) => [k, redact(String(v), secrets)])) } : {}),
  };
  if (answer.status === 401) {
    return step !== 'tfa-code'
      ? new ProxmoxLoginError(
          `Authentication failed: ${answer.reason} (login as ${user}). Check the credential's username, realm and password${step === 'legacy-otp' ? ' and TOTP Secret' : ''}.`,
          'password',
          { loginStatus: 401 },
        )
      : new ProxmoxLoginError(
          `Authentication failed: ${answer.reason} (TOTP code for ${user} refused). Check the credential's TOTP Secret and the clock of the n8n host (a code is valid for 30 s; Proxmox also accepts the previous and the next one).`,
          'tfa-code',
          { loginStatus: 401 },
        );
  }
  const params = Object.entries(answer.errors ?? {})
    .map(([param, problem]) => `${param}: ${String(problem).trim()}`)
    .join('; ');
  return new ProxmoxLoginError(`Proxmox login failed: ${answer.reason}${params ? ` (${params})` : ''} (HTTP ${answer.status})`, 'http', { loginStatus: answer.status });
}

function session(input: LoginInput, data: TicketData | undefined, user: string): Session {
  const ticket = data?.ticket;
  const csrf = data?.CSRFPreventionToken;
  if (!ticket || !csrf) throw new ProxmoxLoginError('Proxmox login returned no ticket', 'http', { loginStatus: 200 });
  const who = String(data?.username ?? '') || user;
  return { ticket, csrf, user: who, scope: sessionScope(input.origin, userId(input.username, input.realm)) };
}

/** Logs in with username/password and, when the user has one, the TOTP second factor. */
export async function login(http: HttpRequest, input: LoginInput): Promise<Session> {
  const user = userId(input.username, input.realm);
  const first: Record<string, string> = { username: input.username.trim(), password: input.password, 'new-format': '1' };
  if (!input.username.includes('@')) first.realm = (input.realm ?? '').trim() || 'pam';
  let answer = await postTicket(http, input, first);
  let step: 'password' | 'legacy-otp' = 'password';
  if (answer.status === 400 && answer.errors && 'new-format' in answer.errors) {
    // PVE ≤ 7.0: no partial tickets; a TOTP code goes with the password as `otp`.
    delete first['new-format'];
    if (input.totpSecret) {
      first.otp = code(input);
      step = 'legacy-otp';
    }
    answer = await postTicket(http, input, first);
  }
  if (answer.status !== 200) throw failed(answer, user, step, first);
  if (!isPartial(answer.data)) return session(input, answer.data, user);

  const partial = String(answer.data?.ticket ?? '');
  const offered = challengeOf(partial);
  if (offered && !offered.totp) {
    const kinds = Object.keys(offered).filter((k) => offered[k] !== undefined && offered[k] !== false && offered[k] !== null);
    throw new ProxmoxLoginError(
      `Authentication failed: ${user} must answer a second factor this package cannot (${kinds.join(', ') || 'unknown'}; only TOTP is supported). Use an API token for automation.`,
      'tfa-unsupported',
    );
  }
  if (!input.totpSecret) {
    throw new ProxmoxLoginError(
      `Authentication failed: ${user} has two-factor authentication. Fill in the credential's TOTP Secret (the base32 secret of the user's TOTP factor), or use an API token.`,
      'tfa-missing',
    );
  }
  const answerForm = { username: String(answer.data?.username ?? '') || user, 'tfa-challenge': partial, password: `totp:${code(input)}` };
  const second = await postTicket(http, input, answerForm);
  if (second.status !== 200) throw failed(second, user, 'tfa-code', answerForm);
  if (isPartial(second.data)) {
    throw new ProxmoxLoginError(`Authentication failed: Proxmox asked ${user} for another second factor after the TOTP code`, 'tfa-unsupported');
  }
  return session(input, second.data, user);
}

// One login at a time per credential state: items running in parallel that meet the same expired
// ticket (each gets a 401, and n8n calls preAuthentication for each) share the login in flight.
// Keyed by a digest (never the secrets themselves); an entry lives only while its login runs, so
// no ticket is handed out after it could have expired.
const inFlight = new Map<string, Promise<Session>>();

export function sharedLogin(http: HttpRequest, input: LoginInput, currentSession: unknown): Promise<Session> {
  const key = createHash('sha256')
    .update(JSON.stringify([input.origin, input.username, input.realm ?? '', input.password, input.totpSecret ?? '', String(currentSession ?? '')]))
    .digest('hex');
  const running = inFlight.get(key);
  if (running) return running;
  const promise = login(http, input).finally(() => inFlight.delete(key));
  inFlight.set(key, promise);
  return promise;
}
