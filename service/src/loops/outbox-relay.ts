// Delivers outbox messages to subscribers: at least once, signed, retried with backoff
// and jitter, given up after MAX_DELIVERY_ATTEMPTS or when the receiver answers 410.
// A subscription scoped to one handoff (filter.handoff_id), one run (filter.run_id) or one
// approval (filter.approval_id) ends once that subject's final event is settled: nothing more can match it (an n8n
// "Wait for Completion" subscribes per handoff, so these would otherwise pile up).

import http from 'node:http';
import https from 'node:https';
import { deliverMessage, retryDelayMs, MAX_DELIVERY_ATTEMPTS, type DeliveryResult } from './deliver.ts';
import type { Clock } from '../domain/principal.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';
import type { EventType, OutboxMessage } from '../domain/types.ts';

const FINAL_HANDOFF_EVENTS: ReadonlySet<EventType> = new Set(['handoff.completed', 'handoff.failed', 'handoff.timed_out', 'handoff.cancelled']);
const FINAL_RUN_EVENTS: ReadonlySet<EventType> = new Set(['run.completed', 'run.failed']);
const FINAL_APPROVAL_EVENTS: ReadonlySet<EventType> = new Set(['approval.approved', 'approval.rejected', 'approval.timed_out', 'approval.cancelled']);

export interface RelayDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  timeoutMs: number;
  concurrency: number;
  onDelivery?: (outcome: 'delivered' | 'retry' | 'dead' | 'gone') => void;
  maxAttempts?: number;
  /** Backoff base (ms) before the first retry; doubles per attempt. Default 1000. */
  backoffBaseMs?: number;
}

export function createOutboxRelay(deps: RelayDeps): { tick: () => Promise<number | void>; close: () => void } {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: deps.concurrency });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: deps.concurrency });
  const maxAttempts = deps.maxAttempts ?? MAX_DELIVERY_ATTEMPTS;

  /**
   * Deletes the message's subscription when it is scoped to the subject whose final event
   * this message carried: filter.handoff_id and a final handoff event, or filter.run_id
   * (without handoff_id) and a final run event. A run-scoped subscription outlives the
   * final events of the run's handoffs; only the run's own end retires it.
   */
  async function retireIfSubjectFinished(message: OutboxMessage): Promise<void> {
    const handoffFinal = FINAL_HANDOFF_EVENTS.has(message.event_type);
    const runFinal = FINAL_RUN_EVENTS.has(message.event_type);
    const approvalFinal = FINAL_APPROVAL_EVENTS.has(message.event_type);
    if (!handoffFinal && !runFinal && !approvalFinal) return;
    const subscription = await deps.store.getSubscription(message.subscription_id);
    if (!subscription) return;
    const { handoff_id: handoffId, run_id: runId, approval_id: approvalId } = subscription.filter;
    if (approvalFinal) {
      // An approval's callback (filter.approval_id) ends with the approval's outcome.
      if (!approvalId) return;
      await deps.store.deleteSubscription(subscription.subscription_id);
      deps.logger.info({ subscription_id: subscription.subscription_id, event: message.event_type, approval_id: approvalId }, 'subscription retired: its subject reached a final state');
      return;
    }
    if (!(handoffFinal && handoffId) && !(runFinal && runId && !handoffId)) return;
    await deps.store.deleteSubscription(subscription.subscription_id);
    deps.logger.info(
      { subscription_id: subscription.subscription_id, event: message.event_type, ...(handoffId ? { handoff_id: handoffId } : { run_id: runId }) },
      'subscription retired: its subject reached a final state',
    );
  }

  async function settle(message: OutboxMessage, result: DeliveryResult): Promise<void> {
    const attempts = message.attempts + 1;
    const now = deps.clock.now();
    const log = { message_id: message.message_id, subscription_id: message.subscription_id, event: message.event_type, attempts, status: result.status };
    if (result.outcome === 'delivered') {
      await deps.store.markDelivered(message.message_id, attempts, now);
      deps.onDelivery?.('delivered');
      await retireIfSubjectFinished(message);
      return;
    }
    if (result.outcome === 'gone' || attempts >= maxAttempts) {
      await deps.store.markDead(message.message_id, attempts, result.error ?? `HTTP ${result.status}`, now);
      deps.onDelivery?.(result.outcome === 'gone' ? 'gone' : 'dead');
      deps.logger.warn({ ...log, error: result.error }, result.outcome === 'gone' ? 'subscriber answered 410: delivery stopped' : 'delivery given up');
      await retireIfSubjectFinished(message);
      return;
    }
    await deps.store.scheduleRetry(message.message_id, attempts, now + retryDelayMs(attempts, result, Math.random, deps.backoffBaseMs), result.error ?? `HTTP ${result.status}`);
    deps.onDelivery?.('retry');
    deps.logger.info({ ...log, error: result.error }, 'delivery failed; retry scheduled');
  }

  async function tick(): Promise<number | void> {
    const leaseMs = deps.timeoutMs * 3;
    for (let round = 0; round < 20; round++) {
      const batch = await deps.store.claimDueOutbox(deps.clock.now(), deps.concurrency * 4, leaseMs);
      if (batch.length === 0) break;
      // Bounded parallelism: `concurrency` deliveries at a time.
      let next = 0;
      const worker = async () => {
        while (next < batch.length) {
          const message = batch[next++]!;
          const result = await deliverMessage(message, {
            timeoutMs: deps.timeoutMs,
            nowSeconds: Math.floor(deps.clock.now() / 1000),
            httpAgent,
            httpsAgent,
          });
          await settle(message, result);
        }
      };
      await Promise.all(Array.from({ length: Math.min(deps.concurrency, batch.length) }, worker));
      if (batch.length < deps.concurrency * 4) break;
    }
  }

  return {
    tick,
    close: () => {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
