// /v1/approvals: N-of-M human approvals with a deadline, their decisions and history. The
// approvers themselves decide on the approval page (approval-page.ts) through their links.

import { z } from 'zod';
import { defineRoute, historyPage, outcomeReply, type RouteSpec } from '../route.ts';
import { Cursor, ErrorView, HistoryQuery, HistoryView, Id, JsonObject, Limit, PageOf, Slug } from '../schemas.ts';
import { APPROVER_GROUP_NAME, APPROVER_IDENTITY, GROUP_PREFIX, approvalPayload } from '../../domain/approval-rules.ts';
import type { ApprovalLinks } from '../../domain/approval-links.ts';
import type { ApprovalService } from '../../domain/approvals.ts';
import { APPROVAL_STATUSES, type Approval } from '../../domain/types.ts';

/** An identity or group:<name>; a pattern (not a refine) so that the OpenAPI document shows it. */
const bare = (anchored: RegExp): string => anchored.source.slice(1, -1);
const APPROVER_REF = new RegExp(`^(?:${GROUP_PREFIX}${bare(APPROVER_GROUP_NAME)}|${bare(APPROVER_IDENTITY)})$`);

export const ApproverRef = z
  .string()
  .regex(APPROVER_REF, 'an identity (letters, digits, ".", "_", "@", "+", "-") or group:<name>')
  .describe('an approver identity, e.g. alice or alice@example.com, or group:<name> from CORTEX_APPROVER_GROUPS');

export const CreateApprovalBody = z.strictObject({
  approval_id: Id.optional().describe('your own id; generated when omitted'),
  title: z.string().trim().min(1).max(200),
  description: z.string().max(20_000).optional().describe('markdown: headings, lists, **bold**, *italic*, `code`, fenced code, http(s) links'),
  context: JsonObject.optional().describe('data shown to the approvers (e.g. the item being approved)'),
  approvers: z.array(ApproverRef).min(1).max(100),
  required_approvals: z.number().int().min(1).max(100).optional().describe('N of the M approvers; default 1'),
  reject_on_first_rejection: z.boolean().optional().describe('default true; otherwise rejected only once N approvals can no longer be reached'),
  deadline: z
    .union([z.number().positive().max(31_536_000), z.iso.datetime({ offset: true })])
    .describe('seconds from now, or an ISO-8601 time; at most a year ahead'),
  callback_url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2000)
    .optional()
    .describe('called (signed, through the outbox) with approval.approved / rejected / timed_out / cancelled, e.g. n8n\'s $execution.resumeUrl'),
});

const ApproverIdentity = z.string().regex(APPROVER_IDENTITY, 'an approver identity');

export const DecisionBody = z.strictObject({
  approver: ApproverIdentity,
  decision: z.enum(['approve', 'reject']),
  comment: z.string().max(2000).nullable().optional(),
});

export const ApprovalIdParams = z.strictObject({ id: Id });

export const CancelApprovalBody = z.strictObject({
  reason: z.string().max(2000).optional().describe('why it is withdrawn; shown on the approval page and in the outcome'),
});

export const ListApprovalsQuery = z.strictObject({
  status: z.enum(APPROVAL_STATUSES).optional(),
  created_by: Slug.optional().describe('the token name that created them; a contractor token sees only its own approvals'),
  approver: ApproverIdentity.optional().describe('only approvals this identity may decide (groups as expanded when the approval was created)'),
  cursor: Cursor,
  limit: Limit,
});

const ApprovalView = z
  .looseObject({
    approval_id: z.string(),
    title: z.string(),
    status: z.enum(APPROVAL_STATUSES),
    required_approvals: z.number().int(),
    approvers: z.array(z.object({ approver: z.string(), status: z.string(), decided_at: z.string().nullable(), comment: z.string().nullable() })),
    decisions: z.array(z.object({ approver: z.string(), decision: z.string(), comment: z.string().nullable(), at: z.string(), via: z.string() })),
    deadline: z.string(),
    version: z.number().int(),
    links: z.array(z.object({ approver: z.string(), url: z.string() })).optional().describe('per-approver page links (creator and admin only)'),
    callback: z.object({ subscription_id: z.string(), secret: z.string() }).optional().describe('only in the answer to the create call'),
  })
  .describe('Approval');

const errors = {
  400: { description: 'invalid request: error.details names each field', schema: ErrorView },
  401: { description: 'missing or unknown bearer token', schema: ErrorView },
  403: { description: 'not the creator (nor the admin); or not an approver', schema: ErrorView },
  404: { description: 'no such approval', schema: ErrorView },
  409: { description: 'already decided (by this approver, or the outcome is settled), cancelled, or past the deadline', schema: ErrorView },
  422: { description: 'Idempotency-Key reused with a different request', schema: ErrorView },
};

export function approvalRoutes(approvals: ApprovalService, links: ApprovalLinks): RouteSpec[] {
  const view = (approval: Approval) => ({ ...approvalPayload(approval), links: links.linksOf(approval) });
  return [
    defineRoute({
      method: 'post',
      path: '/v1/approvals',
      tag: 'approvals',
      summary: 'Create an approval; the answer carries the approvers\' links and, with a callback_url, its signing secret (only this once)',
      body: CreateApprovalBody,
      idempotent: true,
      responses: { 201: { description: 'created (or the original, replayed for the same Idempotency-Key)', schema: ApprovalView }, ...errors },
      handler: async ({ principal, body, idempotency }) => {
        const outcome = await approvals.create(principal, body, idempotency);
        const { approval, callback_secret: secret } = outcome.record;
        const callback = secret && approval.subscription_id ? { callback: { subscription_id: approval.subscription_id, secret } } : {};
        return outcomeReply({ ...outcome, record: approval }, (record) => ({ ...view(record), ...callback }));
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/approvals',
      tag: 'approvals',
      summary: 'List approvals, newest first, without their links (GET one for those); the admin sees all, a contractor the ones it created',
      query: ListApprovalsQuery,
      responses: { 200: { description: 'one page', schema: PageOf(ApprovalView) }, ...errors },
      handler: async ({ principal, query }) => {
        const page = await approvals.list(principal, query);
        return { status: 200, body: { items: page.items.map(approvalPayload), next_cursor: page.next_cursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/approvals/:id',
      tag: 'approvals',
      summary: 'Get an approval: its state, decisions and each approver\'s status (its creator or the admin)',
      params: ApprovalIdParams,
      responses: { 200: { description: 'the approval', schema: ApprovalView }, ...errors },
      handler: async ({ principal, params }) => {
        const approval = await approvals.get(principal, params.id);
        return { status: 200, body: view(approval), headers: { ETag: `"${approval.version}"` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/approvals/:id/events',
      tag: 'approvals',
      summary: 'The approval\'s history, oldest first: creation, every decision, the outcome (page with ?after=<last seq>)',
      params: ApprovalIdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'events', schema: PageOf(HistoryView) }, ...errors },
      handler: async ({ principal, params, query }) => {
        return historyPage(await approvals.history(principal, params.id, query.after, query.limit), query.limit);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/approvals/:id/decisions',
      tag: 'approvals',
      summary: 'Record an approver\'s decision with the admin token (approvers themselves use their links)',
      params: ApprovalIdParams,
      body: DecisionBody,
      idempotent: true,
      responses: { 200: { description: 'the approval after the decision', schema: ApprovalView }, ...errors },
      handler: async ({ principal, params, body, idempotency }) => {
        return outcomeReply(await approvals.decideAsAdmin(principal, params.id, body, idempotency), view);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/v1/approvals/:id/cancel',
      tag: 'approvals',
      summary: 'Cancel a pending approval (its creator or the admin): status cancelled, approval.cancelled to its callback; 409 once it is settled',
      params: ApprovalIdParams,
      body: CancelApprovalBody,
      idempotent: true,
      responses: { 200: { description: 'the cancelled approval', schema: ApprovalView }, ...errors },
      handler: async ({ principal, params, body, idempotency }) => {
        return outcomeReply(await approvals.cancel(principal, params.id, body.reason?.trim() || null, idempotency), view);
      },
    }),
  ];
}
