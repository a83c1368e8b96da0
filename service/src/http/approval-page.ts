// The approval page: /approvals/<id>/decide?approver=…&expires=…&sig=… (approval-links.ts).
//
// GET only shows: the request, who decided what, and — for an approver who has not decided
// on an approval still open — a form with two buttons. Link scanners and mail-preview bots
// that fetch links therefore never decide anything. POST decides; it carries the same signed
// values as the link (hidden fields), so only someone holding the link can decide, and no
// cookie exists for a cross-site request to ride on; an Origin header, when the browser sends
// one, must be the page's own origin.
//
// Answers: 200 the page (or "already decided", or "cancelled"), 403 a link that is not valid (tampered,
// incomplete, someone else's origin), 404 no such approval, 409 a decision that comes too
// late (already decided, by this approver or overall), 410 the link or the approval expired.
// Every answer has a strict CSP (no script at all, one nonce'd style sheet, forms only to
// this origin, no framing), no-store caching, a same-origin referrer policy and noindex.

import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { ApprovalLinks } from '../domain/approval-links.ts';
import { isFinal } from '../domain/approval-rules.ts';
import type { ApprovalService } from '../domain/approvals.ts';
import { CortexError } from '../domain/errors.ts';
import type { Clock } from '../domain/principal.ts';
import type { Approval } from '../domain/types.ts';
import type { Logger } from '../log.ts';
import { decisionForm, notice, page, requestSection, statusText } from './approval-html.ts';
import { Id } from './schemas.ts';

export interface ApprovalPageDeps {
  approvals: ApprovalService;
  links: ApprovalLinks;
  clock: Clock;
  logger?: Logger;
  /** The configured public URL (its origin is accepted in an Origin header besides the Host's). */
  publicUrl: () => string;
}

function send(res: Response, status: number, title: string, body: string): void {
  const nonce = randomBytes(16).toString('base64');
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; img-src 'none'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  );
  res.setHeader('Cache-Control', 'no-store');
  // same-origin: the link's signature never leaves in a Referer (e.g. following a link in the
  // description), while the form's POST still carries a real Origin (no-referrer makes it "null").
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Robots-Tag', 'noindex, nofollow');
  res.send(page(title, body, nonce));
}

const invalidLink = (res: Response) =>
  send(res, 403, 'Link not valid', notice('invalid-link', 'This link is not valid.', 'It may have been changed or copied incompletely. Use the link exactly as you received it.'));

const expired = (res: Response, approval: Approval | null) =>
  send(res, 410, 'Link expired', (approval ? requestSection(approval) : '') + notice('expired', 'This approval request has expired.', 'Its deadline has passed; decisions are no longer accepted.'));

/** A cancelled request: who withdrew it, when and why; no form. */
function cancelled(res: Response, status: number, approval: Approval): void {
  const when = approval.finished_at === null ? '' : ` at ${new Date(approval.finished_at).toISOString()}`;
  const why = approval.cancel_reason ? ` The reason given: ${approval.cancel_reason}` : ' No reason was given.';
  const text = `${approval.cancelled_by ?? 'Its creator'} withdrew it${when}; decisions are no longer accepted.${why}`;
  send(res, status, 'Request cancelled', requestSection(approval) + notice('cancelled', 'This approval request was cancelled.', text));
}

/** The approver's own earlier decision, or the outcome that others' decisions reached. */
function alreadyDecided(res: Response, status: number, approval: Approval, approver: string): void {
  const own = approval.decisions.find((d) => d.approver === approver);
  const text = own
    ? `You ${own.decision === 'approve' ? 'approved' : 'rejected'} this request at ${new Date(own.at).toISOString()}${own.comment ? ` with the comment: ${own.comment}` : ''}. The request is ${statusText(approval)}.`
    : `This request is already ${statusText(approval)}; no further decision is needed.`;
  send(res, status, 'Already decided', requestSection(approval) + notice('already-decided', 'Already decided.', text));
}

export function approvalPageRouter(deps: ApprovalPageDeps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });

  /** The approval of a valid link, or null after answering. */
  async function resolve(req: Request, res: Response, parts: Record<string, unknown>): Promise<{ approval: Approval; approver: string; expires: number; sig: string } | null> {
    const id = String(req.params.id ?? '');
    if (!Id.safeParse(id).success) {
      invalidLink(res);
      return null;
    }
    const check = deps.links.check(id, parts, deps.clock.now());
    if (!check.ok && check.reason !== 'expired') {
      invalidLink(res);
      return null;
    }
    const approval = await deps.approvals.find(id);
    const approver = String(parts.approver);
    if (!approval || !approval.approvers.includes(approver)) {
      send(res, 404, 'Not found', notice('not-found', 'No such approval request.', 'It may have been removed.'));
      return null;
    }
    return { approval, approver, expires: Number(parts.expires), sig: String(parts.sig) };
  }

  const closed = (res: Response, approval: Approval, approver: string, status: number): boolean => {
    if (approval.decisions.some((d) => d.approver === approver)) {
      alreadyDecided(res, status, approval, approver);
      return true;
    }
    if (approval.status === 'cancelled') {
      cancelled(res, status, approval);
      return true;
    }
    if (approval.status === 'timed_out' || approval.deadline_at <= deps.clock.now()) {
      expired(res, approval);
      return true;
    }
    if (isFinal(approval)) {
      alreadyDecided(res, status, approval, approver);
      return true;
    }
    return false;
  };

  router.get('/approvals/:id/decide', async (req, res) => {
    const link = await resolve(req, res, req.query as Record<string, unknown>);
    if (!link) return;
    if (closed(res, link.approval, link.approver, 200)) return;
    send(res, 200, link.approval.title, requestSection(link.approval) + decisionForm(link.approval, link));
  });

  router.post('/approvals/:id/decide', form, async (req, res) => {
    const origin = req.get('origin');
    if (origin !== undefined) {
      const own = [`${req.protocol}://${req.get('host') ?? ''}`, new URL(deps.publicUrl()).origin];
      if (!own.includes(origin)) {
        deps.logger?.warn({ origin, path: req.path }, 'approval page: POST from another origin refused');
        return invalidLink(res);
      }
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    const link = await resolve(req, res, body);
    if (!link) return;
    if (closed(res, link.approval, link.approver, 409)) return;
    const decision = body.decision;
    const comment = typeof body.comment === 'string' ? body.comment.trim().slice(0, 2000) : '';
    if (decision !== 'approve' && decision !== 'reject') {
      return send(res, 400, 'Choose a decision', requestSection(link.approval) + notice('bad-request', 'Choose Approve or Reject.', 'The form was sent without a decision.') + decisionForm(link.approval, link));
    }
    try {
      const outcome = await deps.approvals.decideByLink(link.approval.approval_id, { approver: link.approver, decision, comment: comment || null });
      const approval = outcome.record;
      const verb = decision === 'approve' ? 'approval' : 'rejection';
      send(res, 200, 'Decision recorded', requestSection(approval) + notice('recorded', `Thank you, ${link.approver}: your ${verb} is recorded.`, `The request is ${statusText(approval)}.`));
    } catch (error) {
      if (!(error instanceof CortexError)) throw error;
      const fresh = (await deps.approvals.find(link.approval.approval_id)) ?? link.approval;
      if (fresh.status === 'cancelled') return cancelled(res, 409, fresh);
      if (error.code === 'approval_expired') return expired(res, fresh);
      if (error.code === 'already_decided' || error.code === 'approval_decided') return alreadyDecided(res, 409, fresh, link.approver);
      send(res, 409, 'Not recorded', notice('not-recorded', 'Your decision was not recorded.', error.message));
    }
  });

  return router;
}
