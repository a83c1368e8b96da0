// Fires due timers. Timers are rows with a deadline; a tick leases a batch of due ones
// (so that several replicas never fire the same timer at once), hands each to the
// domain service of its subject, and drops the ones that no longer apply. A timer whose
// firing failed keeps its lease and is retried when the lease runs out.

import type { HandoffService } from '../domain/handoffs.ts';
import type { ApprovalService } from '../domain/approvals.ts';
import type { RunService } from '../domain/runs.ts';
import type { Clock } from '../domain/principal.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';

export interface SweeperDeps {
  store: Store;
  handoffs: HandoffService;
  runs: RunService;
  /** Approval deadlines; without it they are left to a sweeper that has one. */
  approvals?: ApprovalService;
  clock: Clock;
  logger: Logger;
  batchSize: number;
  /** How long a leased timer is ours before another sweeper may take it. */
  leaseMs?: number;
  /** Upper bound on the work of one tick, so that stop() is never kept waiting long. */
  tickBudgetMs?: number;
  /**
   * Timers of a batch fired at once (default 1). On PostgreSQL each firing is a
   * transaction waiting for its commit to reach the disk; several in flight share those
   * flushes. On SQLite the firings in flight reach the store in the same turn and commit
   * in one transaction (group commit). Timers of one subject meet on its version check,
   * so the order does not matter: a timer fires at most once.
   */
  concurrency?: number;
  /**
   * After a tick that fired timers and left none due, the next tick comes no sooner than
   * this many ms after it started (default 0): deadlines falling due one by one in between
   * are then claimed and fired together (one lease transaction, one group commit) instead
   * of one tick each. It bounds the extra lateness; a backlog is never held back.
   */
  coalesceMs?: number;
}

export function createTimeoutSweep(deps: SweeperDeps): () => Promise<number | void> {
  const leaseMs = deps.leaseMs ?? 30_000;
  const budgetMs = deps.tickBudgetMs ?? 2_000;
  const width = Math.max(1, Math.floor(deps.concurrency ?? 1));
  const coalesceMs = Math.max(0, deps.coalesceMs ?? 0);
  return async () => {
    const started = Date.now();
    /** The time of the last claim that left nothing due unclaimed, if the tick ended on one. */
    let drainedAt: number | null = null;
    let claimed = 0;
    for (let round = 0; round < 1000 && Date.now() - started < budgetMs; round++) {
      const claimedAt = deps.clock.now();
      const due = await deps.store.claimDueTimers(claimedAt, deps.batchSize, leaseMs);
      claimed += due.length;
      let next = 0;
      const worker = async () => {
        while (next < due.length) {
          const timer = due[next++]!;
          try {
            const service = timer.subject_kind === 'handoff' ? deps.handoffs : timer.subject_kind === 'run' ? deps.runs : deps.approvals;
            if (!service) continue;
            const fired = await service.fireTimer(timer);
            if (!fired) await deps.store.deleteTimer(timer);
          } catch (error) {
            deps.logger.warn({ err: error, timer: { kind: timer.kind, subject: timer.subject_id } }, 'timer could not fire; retried after its lease');
          }
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(width, due.length)) }, worker));
      if (due.length < deps.batchSize) {
        drainedAt = claimedAt;
        break;
      }
    }
    const next = await deps.store.nextTimerDue();
    // A timer that was already due at the last claim and still is there is leased (by
    // another replica, or by us after a failed firing): come back after the interval
    // instead of spinning on it until its lease runs out.
    if (next === null || (drainedAt !== null && next <= drainedAt)) return undefined;
    if (coalesceMs > 0 && drainedAt !== null && claimed > 0) return Math.max(next, started + coalesceMs);
    return next;
  };
}
