// A route is declared once, with zod schemas for its params, query and body; the same
// declaration mounts it on express and describes it in the OpenAPI document.

import { createHash } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { CortexError, invalid, type ErrorDetail } from '../domain/errors.ts';
import type { IdempotencyRequest, Outcome } from '../domain/commit.ts';
import type { Principal } from '../domain/principal.ts';
import type { HistoryEvent } from '../domain/types.ts';

export type Method = 'get' | 'post' | 'put' | 'delete';

export interface HandlerContext<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  idempotency: IdempotencyRequest | undefined;
  ifMatch: number | undefined;
  req: Request;
  res: Response;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Express path syntax, e.g. /v1/handoffs/:id. */
  path: string;
  tag: string;
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Accepts an Idempotency-Key header. */
  idempotent?: boolean;
  /** Accepts an If-Match header (the record's version). */
  conditional?: boolean;
  responses: Record<number, { description: string; schema?: z.ZodType }>;
  handler: (context: HandlerContext<P, Q, B>) => Promise<Reply>;
}

export const defineRoute = <P, Q, B>(spec: RouteSpec<P, Q, B>): RouteSpec => spec as unknown as RouteSpec;

/** The answer to a change: its status, the record as `payload` shows it, its version as ETag, and whether it was replayed. */
export function outcomeReply<T extends { version: number }>(outcome: Outcome<T>, payload: (record: T) => unknown): Reply {
  return {
    status: outcome.status,
    body: payload(outcome.record),
    headers: { ETag: `"${outcome.record.version}"`, ...(outcome.replayed ? { 'Idempotent-Replayed': 'true' } : {}) },
  };
}

const historyView = (event: HistoryEvent) => ({
  seq: event.seq,
  type: event.type,
  actor: event.actor,
  at: new Date(event.at).toISOString(),
  data: event.data,
});

/** One page of a record's history; a full page points at its last seq (the next ?after=). */
export function historyPage(events: HistoryEvent[], limit: number): Reply {
  const last = events.at(-1);
  return { status: 200, body: { items: events.map(historyView), next_cursor: events.length === limit && last ? String(last.seq) : null } };
}

/** zod issues → the error details of DESIGN.md: where, and what is wrong. */
export function zodDetails(error: z.ZodError, location: string): ErrorDetail[] {
  return error.issues.flatMap((issue) => {
    const at = [location, ...issue.path.map(String)];
    // One detail per unknown field, its path naming the field (body.x, query.x).
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: 'unknown field' }));
    return [{ path: at.join('.'), message: issue.message }];
  });
}

/** A route without a query schema takes no query parameters: an unknown one is a 400. */
const NoQuery = z.strictObject({});

function parsePart<T>(schema: z.ZodType<T> | undefined, value: unknown, location: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (!result.success) {
    const details = zodDetails(result.error, location);
    throw invalid(`invalid ${location}: ${details.map((d) => `${d.path}: ${d.message}`).join('; ')}`, details);
  }
  return result.data;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyOf(req: Request, body: unknown): IdempotencyRequest | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw invalid('invalid Idempotency-Key header', [
      { path: 'header.Idempotency-Key', message: 'must be 1-255 visible ASCII characters' },
    ]);
  }
  const fingerprint = createHash('sha256').update(`${req.method} ${req.path}\n${JSON.stringify(body ?? null)}`).digest('hex');
  return { key, fingerprint };
}

function ifMatchOf(req: Request): number | undefined {
  const header = req.get('if-match');
  if (header === undefined) return undefined;
  // A bare version (2) or an entity tag ("2", W/"2"); an unbalanced quote is malformed.
  const match = /^\s*(?:(?:W\/)?"(\d{1,15})"|(\d{1,15}))\s*$/.exec(header);
  if (!match) {
    throw invalid('invalid If-Match header', [{ path: 'header.If-Match', message: 'must be a version, e.g. "3"' }]);
  }
  return Number(match[1] ?? match[2]);
}

export function mount(router: Router, spec: RouteSpec): void {
  router[spec.method](spec.path, async (req: Request, res: Response) => {
    const principal = res.locals.principal as Principal;
    const hasBody = req.body !== undefined;
    // A body the JSON parser skipped (another content type), with a length or chunked.
    const sentBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
    if (spec.body && !hasBody && sentBody) {
      throw new CortexError('invalid', 'unsupported_media_type', 'send the body as application/json', [
        { path: 'header.Content-Type', message: 'must be application/json' },
      ]);
    }
    const params = parsePart(spec.params, req.params, 'params');
    const query = parsePart(spec.query ?? NoQuery, { ...(req.query as object) }, 'query') as unknown;
    const body = parsePart(spec.body, hasBody ? req.body : {}, 'body');
    const reply = await spec.handler({
      principal,
      params,
      query,
      body,
      idempotency: spec.idempotent ? idempotencyOf(req, body) : undefined,
      ifMatch: spec.conditional ? ifMatchOf(req) : undefined,
      req,
      res,
    });
    for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
    if (reply.body === undefined) res.status(reply.status).end();
    else res.status(reply.status).json(reply.body);
  });
}
