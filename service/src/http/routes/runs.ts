// /v1/runs: runs of workflow definitions, their phases and actions, and rollback plans.

import { defineRoute, historyPage, outcomeReply, type Reply, type RouteSpec } from '../route.ts';
import {
  ActionParams,
  EmptyBody,
  ErrorView,
  FailBody,
  HistoryQuery,
  HistoryView,
  ListRunsQuery,
  PageOf,
  PhaseCompleteBody,
  PhaseParams,
  RollbackStepBody,
  RunFailBody,
  RunIdParams,
  RunView,
  StartRunBody,
  StepParams,
} from '../schemas.ts';
import { CortexError } from '../../domain/errors.ts';
import { runPayload, type RunService } from '../../domain/runs.ts';
import type { Outcome } from '../../domain/commit.ts';
import type { ErrorInfo, JsonObject, Run } from '../../domain/types.ts';

const runReply = (outcome: Outcome<Run>): Reply => outcomeReply(outcome, runPayload);

const errors = {
  400: { description: 'invalid request', schema: ErrorView },
  401: { description: 'missing or unknown bearer token', schema: ErrorView },
  403: { description: 'the token may not read this run (not a party to it) or change this run or phase', schema: ErrorView },
  404: { description: 'no such run, definition, phase, action or step', schema: ErrorView },
  409: { description: 'illegal transition, stale If-Match or concurrency key held', schema: ErrorView },
};
const ok = { 200: { description: 'the run after the change', schema: RunView }, ...errors };

type Ctx = Parameters<RouteSpec['handler']>[0];
type P = { id: string; phase_id: string; action_id: string; step_id: string };

export function runRoutes(runs: RunService): RouteSpec[] {
  const change = (path: string, summary: string, body: RouteSpec['body'], params: RouteSpec['params'], act: (ctx: Ctx, p: P) => Promise<Outcome<Run>>) =>
    defineRoute({
      method: 'post',
      path,
      tag: 'runs',
      summary,
      params,
      body,
      idempotent: true,
      conditional: true,
      responses: ok,
      handler: async (ctx) => runReply(await act(ctx, ctx.params as P)),
    });
  const opts = (ctx: Ctx) => ({ idempotency: ctx.idempotency, ifMatch: ctx.ifMatch });
  const body = <T>(ctx: Ctx) => ctx.body as T;

  return [
    defineRoute({
      method: 'post',
      path: '/v1/runs',
      tag: 'runs',
      summary: 'Start a run of a stored definition; a concurrency_key held by a running run is a 409',
      body: StartRunBody,
      idempotent: true,
      responses: { 201: { description: 'the new run', schema: RunView }, ...errors },
      handler: async ({ principal, body: input, idempotency }) => runReply(await runs.start(principal, input, idempotency)),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/runs',
      tag: 'runs',
      summary: 'List runs, newest first (status=running: the active ones); a contractor sees the runs it started or owns a phase of',
      query: ListRunsQuery,
      responses: { 200: { description: 'one page', schema: PageOf(RunView) }, ...errors },
      handler: async ({ principal, query }) => {
        const page = await runs.list(principal, query);
        return { status: 200, body: { items: page.items.map(runPayload), next_cursor: page.next_cursor } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/runs/:id',
      tag: 'runs',
      summary: 'Get a run',
      params: RunIdParams,
      responses: { 200: { description: 'the run', schema: RunView }, ...errors },
      handler: async ({ principal, params }) => {
        const run = await runs.get(principal, params.id);
        return { status: 200, body: runPayload(run), headers: { ETag: `"${run.version}"` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/runs/:id/events',
      tag: 'runs',
      summary: 'The run\'s event history, oldest first',
      params: RunIdParams,
      query: HistoryQuery,
      responses: { 200: { description: 'events', schema: PageOf(HistoryView) }, ...errors },
      handler: async ({ principal, params, query }) => {
        return historyPage(await runs.history(principal, params.id, query.after, query.limit), query.limit);
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/runs/:id/rollback',
      tag: 'runs',
      summary: 'The rollback plan of a failed run: steps in the order to run them',
      params: RunIdParams,
      responses: { 200: { description: 'the plan' }, ...errors },
      handler: async ({ principal, params }) => {
        const run = await runs.get(principal, params.id);
        if (!run.rollback) throw new CortexError('not_found', 'no_rollback_plan', `run ${run.run_id} is ${run.status} and has no rollback plan`);
        return { status: 200, body: { run_id: run.run_id, ...(runPayload(run).rollback as JsonObject) } };
      },
    }),
    change('/v1/runs/:id/phases/:phase_id/start', 'Start a phase', EmptyBody, PhaseParams, (ctx, p) => runs.startPhase(ctx.principal, p.id, p.phase_id, opts(ctx))),
    change('/v1/runs/:id/phases/:phase_id/complete', 'Complete a phase (with its output, e.g. the handoff_data)', PhaseCompleteBody, PhaseParams, (ctx, p) =>
      runs.completePhase(ctx.principal, p.id, p.phase_id, body<{ output?: JsonObject }>(ctx).output, opts(ctx))),
    change('/v1/runs/:id/phases/:phase_id/fail', 'Fail a phase: the run fails and gets a rollback plan', FailBody, PhaseParams, (ctx, p) =>
      runs.failPhase(ctx.principal, p.id, p.phase_id, body<{ error: ErrorInfo }>(ctx).error, opts(ctx))),
    change('/v1/runs/:id/phases/:phase_id/actions/:action_id/start', 'Start an action (its timeout from the definition starts)', EmptyBody, ActionParams, (ctx, p) =>
      runs.startAction(ctx.principal, p.id, p.phase_id, p.action_id, opts(ctx))),
    change('/v1/runs/:id/phases/:phase_id/actions/:action_id/complete', 'Complete an action', EmptyBody, ActionParams, (ctx, p) =>
      runs.completeAction(ctx.principal, p.id, p.phase_id, p.action_id, opts(ctx))),
    change('/v1/runs/:id/phases/:phase_id/actions/:action_id/fail', 'Fail an action: its on_error decides (rollback, fail or continue)', FailBody, ActionParams, (ctx, p) =>
      runs.failAction(ctx.principal, p.id, p.phase_id, p.action_id, body<{ error: ErrorInfo }>(ctx).error, opts(ctx))),
    change('/v1/runs/:id/complete', 'Complete the run (no phase may be in progress; pending phases are skipped)', EmptyBody, RunIdParams, (ctx, p) =>
      runs.complete(ctx.principal, p.id, opts(ctx))),
    change('/v1/runs/:id/fail', 'Fail the run; rollback (default true) produces the rollback plan', RunFailBody, RunIdParams, (ctx, p) => {
      const input = body<{ error: ErrorInfo; rollback: boolean }>(ctx);
      return runs.fail(ctx.principal, p.id, input.error, input.rollback, opts(ctx));
    }),
    change('/v1/runs/:id/rollback/steps/:step_id', 'Mark a rollback step done or failed', RollbackStepBody, StepParams, (ctx, p) => {
      const input = body<{ status: 'done' | 'failed'; note?: string }>(ctx);
      return runs.rollbackStep(ctx.principal, p.id, p.step_id, input.status, input.note, opts(ctx));
    }),
  ];
}
