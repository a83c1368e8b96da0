// Per-approver links to the approval page:
//
//   <public URL>/approvals/<id>/decide?approver=<name>&expires=<unix seconds>&sig=<token>
//
// token = base64url(HMAC-SHA256(link secret, "cortex-approval-link:v1\n<id>\n<approver>\n<expires>")).
// The link names one approver of one approval and expires with the approval's deadline.
// Anything changed in it (another approver, a later expiry, another approval) breaks the
// signature; the comparison is constant-time. The same signed values travel in the page's
// form, so the POST that decides proves it came from someone holding the link (no cookie,
// so nothing for a cross-site request to ride on).

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Approval } from './types.ts';

const DOMAIN = 'cortex-approval-link:v1';
const SIG = /^[A-Za-z0-9_-]{43}$/;

export interface LinkParts {
  approver: string;
  /** Unix seconds. */
  expires: number;
  sig: string;
}

export type LinkCheck = { ok: true } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

export class ApprovalLinks {
  private readonly key: Buffer;
  private readonly publicUrl: () => string;

  /** `publicUrl` is read per link: the listen address is known only once the server listens. */
  constructor(secret: string, publicUrl: () => string) {
    this.key = Buffer.from(secret, 'utf8');
    this.publicUrl = publicUrl;
  }

  sign(approvalId: string, approver: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${DOMAIN}\n${approvalId}\n${approver}\n${expires}`, 'utf8').digest('base64url');
  }

  /** Signature first (a forged link learns nothing else), then expiry against `nowMs`. */
  check(approvalId: string, parts: Partial<Record<keyof LinkParts, unknown>>, nowMs: number): LinkCheck {
    const { approver, expires, sig } = parts;
    const expiresNumber = typeof expires === 'string' && /^\d{1,12}$/.test(expires) ? Number(expires) : typeof expires === 'number' ? expires : NaN;
    if (typeof approver !== 'string' || approver.length === 0 || approver.length > 200 || !Number.isSafeInteger(expiresNumber) || typeof sig !== 'string' || !SIG.test(sig)) {
      return { ok: false, reason: 'malformed' };
    }
    const expected = Buffer.from(this.sign(approvalId, approver, expiresNumber), 'utf8');
    const presented = Buffer.from(sig, 'utf8');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return { ok: false, reason: 'bad_signature' };
    if (nowMs >= expiresNumber * 1000) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  /** The link's expiry: the approval's deadline, in whole seconds (rounded up). */
  static expiresOf(approval: Pick<Approval, 'deadline_at'>): number {
    return Math.ceil(approval.deadline_at / 1000);
  }

  path(approval: Pick<Approval, 'approval_id' | 'deadline_at'>, approver: string): string {
    const expires = ApprovalLinks.expiresOf(approval);
    const query = new URLSearchParams({ approver, expires: String(expires), sig: this.sign(approval.approval_id, approver, expires) });
    return `/approvals/${encodeURIComponent(approval.approval_id)}/decide?${query.toString()}`;
  }

  /** One absolute link per approver. */
  linksOf(approval: Pick<Approval, 'approval_id' | 'deadline_at' | 'approvers'>): { approver: string; url: string }[] {
    const base = this.publicUrl().replace(/\/+$/, '');
    return approval.approvers.map((approver) => ({ approver, url: base + this.path(approval, approver) }));
  }
}
