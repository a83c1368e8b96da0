// The HTTP application, built from its dependencies (no module-level state), so that
// tests can run several side by side.

import express, { type NextFunction, type Request, type Response } from 'express';
import { CortexError } from '../domain/errors.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { HandoffService } from '../domain/handoffs.ts';
import type { RunService } from '../domain/runs.ts';
import type { Clock } from '../domain/principal.ts';
import type { TokenAuthenticator } from './auth.ts';
import type { Telemetry } from './prometheus.ts';
import { errorMapper, sendError } from './errors.ts';
import { buildOpenApi } from './openapi.ts';
import { mount, type RouteSpec } from './route.ts';
import { handoffRoutes } from './routes/handoffs.ts';
import { runRoutes } from './routes/runs.ts';
import { definitionRoutes } from './routes/definitions.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { metricsRoutes } from './routes/metrics.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { approvalPageRouter } from './approval-page.ts';
import type { ApprovalService } from '../domain/approvals.ts';
import type { ApprovalLinks } from '../domain/approval-links.ts';

export interface AppDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  telemetry: Telemetry;
  handoffs: HandoffService;
  runs: RunService;
  approvals: ApprovalService;
  approvalLinks: ApprovalLinks;
  /** Base URL of the approval links (CORTEX_PUBLIC_URL, or where the service listens). */
  publicUrl: () => string;
  authenticator: TokenAuthenticator;
  bodyLimit: string;
  version: string;
  /** False while starting or stopping: /readyz answers 503. */
  isAccepting: () => boolean;
}

/** Deepest nesting of objects and arrays accepted in a request body. */
export const MAX_BODY_DEPTH = 64;

/** Whether parsed JSON nests objects/arrays deeper than `max` levels (iterative: no recursion). */
export function jsonDepthExceeds(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth > max) return true;
    for (const inner of Object.values(current as Record<string, unknown>)) {
      if (inner !== null && typeof inner === 'object') stack.push([inner, depth + 1]);
    }
  }
  return false;
}

export function apiRoutes(
  deps: Pick<AppDeps, 'store' | 'clock' | 'handoffs' | 'runs'> & Partial<Pick<AppDeps, 'logger' | 'approvals' | 'approvalLinks'>>,
): RouteSpec[] {
  return [
    ...handoffRoutes(deps.handoffs, deps.logger),
    ...runRoutes(deps.runs),
    ...definitionRoutes(deps.store, deps.clock),
    ...subscriptionRoutes(deps.store, deps.clock),
    ...metricsRoutes(deps.store),
    ...(deps.approvals && deps.approvalLinks ? approvalRoutes(deps.approvals, deps.approvalLinks) : []),
  ];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      deps.telemetry.request(req.method, route, res.statusCode, seconds);
      if (deps.logger.isLevelEnabled('debug')) {
        deps.logger.debug({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
      }
    });
    next();
  });

  const routes = apiRoutes(deps);
  const openapi = buildOpenApi(routes, deps.version);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    if (!deps.isAccepting()) return sendError(res, 503, 'not_ready', 'the service is starting or stopping');
    try {
      await deps.store.ping();
      res.json({ status: 'ready', store: deps.store.kind });
    } catch (error) {
      deps.logger.warn({ err: error }, 'readiness: store ping failed');
      sendError(res, 503, 'store_unavailable', 'the store does not answer');
    }
  });
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.telemetry.registry.contentType);
    res.send(await deps.telemetry.registry.metrics());
  });

  // The approval page: outside the bearer-token API (approvers hold signed links, not tokens).
  app.use(approvalPageRouter({ approvals: deps.approvals, links: deps.approvalLinks, clock: deps.clock, logger: deps.logger, publicUrl: deps.publicUrl }));

  const api = express.Router();
  api.use((req: Request, res: Response, next: NextFunction) => {
    const principal = deps.authenticator.authenticate(req.get('authorization'));
    if (!principal) {
      throw new CortexError('unauthenticated', 'unauthenticated', 'send Authorization: Bearer <token> with a configured token');
    }
    res.locals.principal = principal;
    next();
  });
  api.use(express.json({ limit: deps.bodyLimit, strict: true, type: ['application/json', 'application/*+json'] }));
  api.use((req: Request, _res: Response, next: NextFunction) => {
    // Validation, fingerprints and storage walk the body recursively: a deeply nested one
    // (a few kB of "[[[[…") would exhaust the stack there and end as a 500.
    if (req.body !== undefined && jsonDepthExceeds(req.body, MAX_BODY_DEPTH)) {
      throw new CortexError('invalid', 'too_deeply_nested', `the request body nests deeper than ${MAX_BODY_DEPTH} levels`, [
        { path: 'body', message: `at most ${MAX_BODY_DEPTH} levels of nested objects and arrays` },
      ]);
    }
    next();
  });
  for (const route of routes) mount(api, route);
  app.use(api);

  app.use((req: Request, res: Response) => {
    sendError(res, 404, 'route_not_found', `no route ${req.method} ${req.path}`);
  });
  app.use(errorMapper(deps.logger));
  return app;
}
