// Bearer tokens. Tokens are kept only as SHA-256 digests and compared in constant time;
// every configured token is compared on every request so timing says nothing about
// which one (if any) matched.

import { hash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../domain/principal.ts';

interface Entry {
  digest: Buffer;
  principal: Principal;
}

// One-shot: a Hash object (a stream) per request cost more than the digest itself.
const digest = (token: string): Buffer => hash('sha256', token, 'buffer');

export class TokenAuthenticator {
  private readonly entries: Entry[];

  constructor(tokens: readonly { name: string; token: string; role: 'admin' | 'contractor' }[]) {
    this.entries = tokens.map((entry) => ({ digest: digest(entry.token), principal: { name: entry.name, role: entry.role } }));
  }

  /** The principal for an Authorization header value, or null. */
  authenticate(header: string | undefined): Principal | null {
    if (!header) return null;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return null;
    const presented = digest(match[1]!);
    let found: Principal | null = null;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, presented) && found === null) found = entry.principal;
    }
    return found;
  }
}
