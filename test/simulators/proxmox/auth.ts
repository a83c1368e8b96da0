// Authentication as pve-http-server / PVE::AccessControl do it:
// - API tokens: `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`, no CSRF token needed;
// - tickets from POST /access/ticket, sent as cookie PVEAuthCookie, with the CSRFPreventionToken
//   header required on every non-GET request; tickets expire (2 h by default) → 401;
// - a valid ticket as the password renews it (no second factor asked);
// - TOTP second factor (pve-access-control ≥ 7.1 / PVE 8): the password step answers with a
//   partial ticket `PVE:!tfa!<challenge>:…` and `NeedTFA: 1` that no API call accepts (401); the
//   second POST carries `tfa-challenge=<partial ticket>` and `password=totp:<code>`. Codes of the
//   previous, current and next 30 s step are accepted (proxmox-tfa verifies with steps -1..=1);
//   `otp=totp:<code>` with the password answers both factors at once; `otp` together with
//   `tfa-challenge` is refused. With `legacyLogin` the server behaves as PVE ≤ 7.0: it does not
//   know `new-format` or `tfa-challenge` (400), a TOTP user sends the bare code as `otp` with the
//   password, and there are no partial tickets.
//   Every failure is 401 "authentication failure", as PVE words it to prevent user enumeration.
// Privileges are a flat set per user/token (privilege-separated tokens carry their own, smaller
// set); a missing one is 403 "Permission check failed (<path>, <privilege>)".

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, paramError } from './schema.ts';

export const ALL_PRIVILEGES = [
  'Sys.Audit', 'Sys.Modify', 'Datastore.Audit', 'Datastore.AllocateSpace', 'Datastore.Allocate',
  'VM.Audit', 'VM.Allocate', 'VM.Clone', 'VM.PowerMgmt', 'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.Migrate', 'VM.Backup',
  'VM.Config.Disk', 'VM.Config.CDROM', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network', 'VM.Config.HWType',
  'VM.Config.Options', 'VM.Config.Cloudinit', 'Pool.Allocate', 'SDN.Use',
];

export interface UserSpec {
  /** user@realm */
  userid: string;
  password: string;
  privileges?: string[] | 'all';
  /** A TOTP second factor: its base32 secret. */
  totp?: { secret: string };
}

export interface LoginParams {
  username: string;
  password: string;
  realm?: string;
  otp?: string;
  'tfa-challenge'?: string;
  'new-format'?: boolean;
}

export interface TokenSpec {
  /** user@realm!tokenname */
  tokenid: string;
  secret: string;
  privileges?: string[] | 'all';
}

export interface Principal {
  /** user@realm, or user@realm!token for tokens (as it appears in UPIDs). */
  id: string;
  privileges: Set<string>;
  via: 'token' | 'ticket';
}

const privilegeSet = (p: string[] | 'all' | undefined) => new Set(p === undefined || p === 'all' ? ALL_PRIVILEGES : p);

export class Auth {
  private readonly users = new Map<string, UserSpec>();
  private readonly tokens = new Map<string, TokenSpec>();
  private readonly key = randomBytes(32);
  ticketLifetimeMs: number;
  logins = 0;
  failures = 0;

  constructor(users: UserSpec[], tokens: TokenSpec[], ticketLifetimeMs: number) {
    for (const user of users) this.users.set(user.userid, user);
    for (const token of tokens) this.tokens.set(token.tokenid, token);
    this.ticketLifetimeMs = ticketLifetimeMs;
  }

  private sign(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64');
  }

  /** TOTP answers that were refused. */
  tfaFailures = 0;
  /** Partial tickets handed out (password step of a user with TOTP). */
  tfaChallenges = 0;
  /** Tickets renewed with a valid ticket as the password. */
  renewals = 0;
  /** Moves the simulator's TOTP clock (ms), to test codes from neighbouring steps. */
  totpClockOffsetMs = 0;
  /** Behave as PVE ≤ 7.0 (see above). */
  legacyLogin = false;

  /** POST /access/ticket. Counts `logins` for every full ticket handed out. */
  login(params: LoginParams): { ticket: string; CSRFPreventionToken: string; username: string; cap?: object; NeedTFA?: 1 } {
    const userid = params.username.includes('@') ? params.username : `${params.username}@${params.realm ?? 'pam'}`;
    const user = this.users.get(userid);
    const fail = (tfa = false): never => {
      this.failures += 1;
      if (tfa) this.tfaFailures += 1;
      throw new ApiError(401, 'authentication failure');
    };
    if (this.legacyLogin) {
      const unknown = (['new-format', 'tfa-challenge'] as const).filter((name) => params[name] !== undefined);
      if (unknown.length) {
        throw paramError(Object.fromEntries(unknown.map((name) => [name, 'property is not defined in schema and the schema does not allow additional properties'])));
      }
    }
    if (!user) return fail();
    const challenge = params['tfa-challenge'];
    if (challenge !== undefined) {
      // "TFA response should be in 'password', not 'otp' when 'tfa-challenge' is set"
      if (params.otp !== undefined || !user.totp) return fail(true);
      const partial = this.verifyTicket(challenge, userid);
      if (!partial || !partial.tfa) return fail(true);
      const code = /^totp:(\d{6})$/.exec(params.password)?.[1];
      if (!code || !this.totpMatches(user.totp.secret, code)) return fail(true);
      return this.issue(userid);
    }
    // A valid full ticket of this user as the password: a renewal, no second factor asked.
    const renewing = this.verifyTicket(params.password, userid);
    if (renewing) {
      if (renewing.tfa) return fail(); // "incomplete ticket"
      this.renewals += 1;
      return this.issue(userid);
    }
    if (!safeEqual(user.password, params.password)) return fail();
    if (!user.totp) return this.issue(userid);
    if (this.legacyLogin) {
      const code = params.otp;
      if (code === undefined || !/^\d{6}$/.test(code) || !this.totpMatches(user.totp.secret, code)) return fail(true);
      return this.issue(userid);
    }
    if (params.otp !== undefined) {
      // The first factor with an immediate second one: `totp:<code>`.
      const code = /^totp:(\d{6})$/.exec(params.otp)?.[1];
      if (!code || !this.totpMatches(user.totp.secret, code)) return fail(true);
      return this.issue(userid);
    }
    this.tfaChallenges += 1;
    const info = encodeURIComponent(JSON.stringify({ totp: true }));
    const { ticket, stamp } = this.assemble(`!tfa!${info}`, userid);
    return { ticket, CSRFPreventionToken: this.csrf(userid, stamp), username: userid, NeedTFA: 1 };
  }

  private issue(userid: string): { ticket: string; CSRFPreventionToken: string; username: string; cap: object } {
    this.logins += 1;
    const { ticket, stamp } = this.assemble(userid);
    return { ticket, CSRFPreventionToken: this.csrf(userid, stamp), username: userid, cap: { vms: {}, storage: {}, nodes: {} } };
  }

  /** `PVE:<data>:<HEXTIME>.<ms>::<signature>`; a partial ticket's signature also covers its user (PVE's aad). */
  private assemble(data: string, aad?: string): { ticket: string; stamp: string } {
    const now = Date.now();
    const stamp = Math.floor(now / 1000).toString(16).toUpperCase();
    // The timestamp carries milliseconds too so that short test lifetimes are exact.
    const plain = `PVE:${data}:${stamp}.${(now % 1000).toString(16)}`;
    return { ticket: `${plain}::${this.sign(aad === undefined ? plain : `${plain}\n${aad}`)}`, stamp };
  }

  private csrf(userid: string, stamp: string): string {
    return `${stamp}:${this.sign(`csrf:${userid}:${stamp}`).slice(0, 43)}`;
  }

  /**
   * A ticket of ours that has not expired: for `userid` when given (a partial ticket is bound to
   * its user). `tfa`: a partial ticket.
   */
  private verifyTicket(ticket: string, userid?: string): { userid: string; stamp: string; tfa: boolean } | undefined {
    const m = /^(PVE:([^:]+):([0-9A-F]+)\.([0-9a-f]+))::(.+)$/.exec(ticket);
    if (!m) return undefined;
    const tfa = m[2]!.startsWith('!tfa!');
    if (tfa && userid === undefined) return undefined;
    const owner = tfa ? userid! : m[2]!;
    if (userid !== undefined && owner !== userid) return undefined;
    if (!safeEqual(this.sign(tfa ? `${m[1]}\n${owner}` : m[1]!), m[5]!)) return undefined;
    const issued = parseInt(m[3]!, 16) * 1000 + parseInt(m[4]!, 16);
    if (Date.now() - issued > this.ticketLifetimeMs) return undefined;
    return { userid: owner, stamp: m[3]!, tfa };
  }

  /** RFC 6238 (SHA-1, 30 s, 6 digits), steps -1..=1 around the simulator's clock. */
  private totpMatches(secret: string, code: string): boolean {
    const step = Math.floor((Date.now() + this.totpClockOffsetMs) / 30_000);
    return [-1, 0, 1].some((delta) => safeEqual(totpAt(secret, step + delta), code));
  }

  /** Identifies the caller; throws 401 as the real server does. */
  authenticate(method: string, headers: Record<string, string | string[] | undefined>): Principal {
    const authorization = String(headers.authorization ?? '');
    if (authorization.startsWith('PVEAPIToken')) {
      const m = /^PVEAPIToken[= ]([^!=\s]+@[^!=\s]+)!([^=\s]+)[=:](\S+)$/.exec(authorization);
      const token = m ? this.tokens.get(`${m[1]}!${m[2]}`) : undefined;
      if (!m || !token || !safeEqual(token.secret, m[3]!)) {
        this.failures += 1;
        throw new ApiError(401, 'invalid token value!');
      }
      return { id: token.tokenid, privileges: privilegeSet(token.privileges), via: 'token' };
    }
    const cookie = String(headers.cookie ?? '');
    const raw = /(?:^|;\s*)PVEAuthCookie=([^;]*)/.exec(cookie)?.[1];
    if (!raw) {
      this.failures += 1;
      throw new ApiError(401, 'No ticket');
    }
    const ticket = safeDecode(raw);
    // A partial (TFA) ticket is no login: verifyTicket without a user refuses it.
    const valid = this.verifyTicket(ticket);
    const user = valid ? this.users.get(valid.userid) : undefined;
    if (!valid || !user) {
      this.failures += 1;
      throw new ApiError(401, 'permission denied - invalid PVE ticket');
    }
    if (method !== 'GET') {
      const csrf = String(headers.csrfpreventiontoken ?? '');
      const expected = this.csrf(valid.userid, valid.stamp);
      if (!safeEqual(csrf, expected)) {
        this.failures += 1;
        throw new ApiError(401, 'Permission denied - invalid csrf token');
      }
    }
    return { id: valid.userid, privileges: privilegeSet(user.privileges), via: 'ticket' };
  }
}

export function checkPermission(principal: Principal, path: string, privileges: string[], any = false): void {
  const missing = privileges.filter((p) => !principal.privileges.has(p));
  if (missing.length === 0 || (any && missing.length < privileges.length)) return;
  throw new ApiError(403, `Permission check failed (${path}, ${missing[0]})`);
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The simulator's own RFC 6238 code (independent of the node's implementation). */
export function totpAt(secret: string, step: number): string {
  let bits = '';
  for (const char of secret.replace(/=+$/, '').toUpperCase()) {
    const value = BASE32.indexOf(char);
    if (value < 0) throw new Error('bad base32 secret');
    bits += value.toString(2).padStart(5, '0');
  }
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeUInt32BE(Math.floor(step / 2 ** 32), 0);
  counter.writeUInt32BE(step % 2 ** 32, 4);
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[19]! & 0xf;
  const value = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(value % 1_000_000).padStart(6, '0');
}
