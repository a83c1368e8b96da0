// /v1/handoffs: the seed's handoff records and their transitions.

import { defineRoute, historyPage, outcomeReply, type Reply, type RouteSpec } from '../route.ts';
import {
  CancelBody,
  CompleteBody,
  CreateHandoffBody,
  ErrorView,
  FailBody,
  HandoffIdParams,
  HandoffView,
  HeartbeatBody,
  HistoryQuery,
  HistoryView,
  ListHandoffsQuery,
  PageOf,
  EmptyBody,
} from '../schemas.ts';
import { handoffPayload, type HandoffService } from '../../domain/handoffs.ts';
import type { Outcome } from '../../domain/commit.ts';
import type { Handoff } from '../../domain/types.ts';
import type { Principal } from '../../domain/principal.ts';
import type { Logger } from '../../log.ts';

const errors = {
  400: { description: 'invalid request: error.details names each field', schema: ErrorView },
  401: { description: 'missing or unknown bearer token', schema: ErrorView },
  403: { description: 'the token may not act on this handoff', schema: ErrorView },
  404: { description: 'no such handoff', schema: ErrorView },
  409: { description: 'illegal transition or stale If-Match', schema: ErrorView },
  422: { description: 'Idempotency-Key reused with a different request', schema: ErrorView },
};

export function handoffRoutes(handoffs: HandoffService, logger?: Logger): RouteSpec[] {
  /** Logs the change at debug, handoff data included: the logger masks secret-looking keys. */
  const changed = (principal: Principal, action: string, outcome: Outcome<Handoff>): Reply => {
    const reply = outcomeReply(outcome, handoffPayload);
    // Built only when debug is on (the logger copies what it logs; the reply stays as is).
    if (logger?.isLevelEnabled('debug')) {
      logger.debug({ actor: principal.name, action, replayed: outcome.replayed, handoff: reply.body }, 'handoff changed');
    }
    return reply;
  };
  const transition = (
    name: string,
    summary: string,
    body: RouteSpec['body'],
    run: (ctx: Parameters<RouteSpec['handler']>[0] & { params: { id: string } }) => Promise<Outcome<Handoff>>,
  ) =>
    defineRoute({
      method: 'post',
      path: `/v1/handoffs/:id/${name}`,
      tag: 'handoffs',
      summary,
      params: HandoffIdParams,
      body,
      idempotent: true,
      conditional: true,
      responses: { 200: { description: 'the handoff after the transition', schema: HandoffView }, ...errors },
      handler: async (ctx) => changed(ctx.principal, name, await run(ctx as Parameters<RouteSpec['handler']>[0] & { params: { id: string } })),
    });

  return [
    defineRoute({
      method: 'post',
      path: '/v1/handoffs',
      tag: 'handoffs',
      summary: 'Create a handoff (status pending). A contractor token may only create handoffs from itself.',
      body: CreateHandoffBody,
      idempotent: true,
      responses: { 201: { description: 'created (or the original, replayed for the same Idempotency-Key)', schema: HandoffView }, ...errors },
      handler: async ({ principal, body, idempotency }) => changed(principal, 'create', await handoffs.create(principal, body, idempotency)),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/handoffs',
      tag: 'handoffs',
      summary: 'List handoffs, newest first; a contractor sees the ones it sent or receives',
      query: ListHandoffsQuery,
      responses: { 200: { description: 'one page', schema: PageOf(HandoffView) }, ...errors },
      handler: async ({ principal, query }) => {
        const page = await handoffs.list(principal, query);
        return { status: 200, body: { items: page.items.map(handoffPayload), next_cursor: page.next_cursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/handoffs/:id',
      tag: 'handoffs',
      summary: 'Get a handoff',
      params: HandoffIdParams,
      responses: { 200: { description: 'the handoff', schema: HandoffView }, ...errors },
      handler: async ({ principal, params }) => {
        const handoff = await handoffs.get(principal, params.id);
        return { status: 200, body: handoffPayload(handoff), headers: { ETag: `"${handoff.version}"` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/handoffs/:id/events',
      tag: 'handoffs',
      summary: 'The handoff\'s event history, oldest first (page with ?after=<last seq>)',
      params: HandoffIdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'events', schema: PageOf(HistoryView) }, ...errors },
      handler: async ({ principal, params, query }) => {
        return historyPage(await handoffs.history(principal, params.id, query.after, query.limit), query.limit);
      },
    }),
    transition('claim', 'Claim a pending handoff (the receiving contractor starts work)', EmptyBody, ({ principal, params, idempotency, ifMatch }) =>
      handoffs.claim(principal, params.id, { idempotency, ifMatch })),
    transition('heartbeat', 'Report liveness (and optional progress) on a claimed handoff', HeartbeatBody, ({ principal, params, body, idempotency, ifMatch }) =>
      handoffs.heartbeat(principal, params.id, (body as { progress?: never }).progress, { idempotency, ifMatch })),
    transition('complete', 'Complete a claimed handoff with its result', CompleteBody, ({ principal, params, body, idempotency, ifMatch }) =>
      handoffs.complete(principal, params.id, (body as { result?: never }).result, { idempotency, ifMatch })),
    transition('fail', 'Fail a handoff with an error code and message', FailBody, ({ principal, params, body, idempotency, ifMatch }) =>
      handoffs.fail(principal, params.id, (body as { error: { code: string; message: string } }).error, { idempotency, ifMatch })),
    transition('cancel', 'Cancel a handoff (the sender or an admin); it fails with code handoff_cancelled', CancelBody, ({ principal, params, body, idempotency, ifMatch }) =>
      handoffs.cancel(principal, params.id, (body as { reason?: string }).reason, { idempotency, ifMatch })),
  ];
}
