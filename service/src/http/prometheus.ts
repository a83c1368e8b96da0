// Prometheus metrics of one service process, in a registry of its own (no globals, so
// several apps can live in one test process).

import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DomainObserver } from '../domain/principal.ts';

export interface Telemetry {
  registry: Registry;
  observer: DomainObserver;
  delivery(outcome: string): void;
  request(method: string, route: string, status: number, seconds: number): void;
}

export function createTelemetry(): Telemetry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cortex_process_' });
  const transitions = new Counter({
    name: 'cortex_handoff_transitions_total',
    help: 'Handoffs entering each status',
    labelNames: ['status'],
    registers: [registry],
  });
  const timeouts = new Counter({
    name: 'cortex_timeouts_fired_total',
    help: 'Deadlines that fired, by kind (claim, completion, heartbeat, phase, action)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const runDurations = new Histogram({
    name: 'cortex_run_duration_seconds',
    help: 'Duration of finished workflow runs',
    labelNames: ['workflow_id', 'status'],
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 2700, 3600, 7200, 14400],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: 'cortex_callback_deliveries_total',
    help: 'Callback delivery attempts by outcome (delivered, retry, dead, gone)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const requests = new Histogram({
    name: 'cortex_http_request_duration_seconds',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    registry,
    observer: {
      handoffTransition: (status) => transitions.inc({ status }),
      timeoutFired: (kind) => timeouts.inc({ kind }),
      runFinished: (workflowId, status, durationMs) => runDurations.observe({ workflow_id: workflowId, status }, durationMs / 1000),
    },
    delivery: (outcome) => deliveries.inc({ outcome }),
    request: (method, route, status, seconds) => requests.observe({ method, route, status: String(status) }, seconds),
  };
}
