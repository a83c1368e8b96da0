// Authentication as pve-http-server / PVE::AccessControl do it:
// - API tokens: `Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET`, no CSRF token needed;
// - tickets from POST /access/ticket, sent as cookie PVEAuthCookie, with the CSRFPreventionToken
//   header required on every non-GET request; tickets expire (2 h by default) → 401.
// Privileges are a flat set per user/token (privilege-separated tokens carry their own, smaller
// set); a missing one is 403 "Permission check failed (<path>, <privilege>)".

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError } from './schema.ts';

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

  /** POST /access/ticket. */
  login(username: string, password: string, realm?: string): { ticket: string; CSRFPreventionToken: string; username: string; cap: object } {
    const userid = username.includes('@') ? username : `${username}@${realm ?? 'pam'}`;
    const user = this.users.get(userid);
    if (!user || !safeEqual(user.password, password)) {
      this.failures += 1;
      throw new ApiError(401, 'authentication failure');
    }
    this.logins += 1;
    const now = Date.now();
    const stamp = Math.floor(now / 1000).toString(16).toUpperCase();
    // The timestamp carries milliseconds too so that short test lifetimes are exact.
    const plain = `PVE:${userid}:${stamp}.${(now % 1000).toString(16)}`;
    const ticket = `${plain}::${this.sign(plain)}`;
    const csrf = `${stamp}:${this.sign(`csrf:${userid}:${stamp}`).slice(0, 43)}`;
    return { ticket, CSRFPreventionToken: csrf, username: userid, cap: { vms: {}, storage: {}, nodes: {} } };
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
    const m = /^(PVE:([^:]+):([0-9A-F]+)\.([0-9a-f]+))::(.+)$/.exec(ticket);
    const user = m ? this.users.get(m[2]!) : undefined;
    if (!m || !user || !safeEqual(this.sign(m[1]!), m[5]!)) {
      this.failures += 1;
      throw new ApiError(401, 'permission denied - invalid PVE ticket');
    }
    const issued = parseInt(m[3]!, 16) * 1000 + parseInt(m[4]!, 16);
    if (Date.now() - issued > this.ticketLifetimeMs) {
      this.failures += 1;
      throw new ApiError(401, 'permission denied - invalid PVE ticket');
    }
    if (method !== 'GET') {
      const csrf = String(headers.csrfpreventiontoken ?? '');
      const expected = `${m[3]}:${this.sign(`csrf:${m[2]}:${m[3]}`).slice(0, 43)}`;
      if (!safeEqual(csrf, expected)) {
        this.failures += 1;
        throw new ApiError(401, 'Permission denied - invalid csrf token');
      }
    }
    return { id: m[2]!, privileges: privilegeSet(user.privileges), via: 'ticket' };
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
