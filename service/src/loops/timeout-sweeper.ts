// Fires due timers. Timers are rows with a deadline; a tick leases a batch of due ones
// (so that several replicas never fire the same timer at once), hands each to the
// domain service of its subject, and drops the ones that no longer apply. A timer whose
// firing failed keeps its lease and is retried when the lease runs out.

import type { HandoffService } from '../domain/handoffs.ts';
import type { RunService } from '../domain/runs.ts';
import type { Clock } from '../domain/principal.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/store.ts';

export interface SweeperDeps {
  store: Store;
  handoffs: HandoffService;
  runs: RunService;
  clock: Clock;
  logger: Logger;
  batchSize: number;
  /** How long a leased timer is ours before another sweeper may take it. */
  leaseMs?: number;
  /** Upper bound on the work of one tick, so that stop() is never kept waiting long. */
  tickBudgetMs?: number;
}

export function createTimeoutSweep(deps: SweeperDeps): () => Promise<number | void> {
  const leaseMs = deps.leaseMs ?? 30_000;
  const budgetMs = deps.tickBudgetMs ?? 2_000;
  return async () => {
    const started = Date.now();
    for (let round = 0; round < 1000 && Date.now() - started < budgetMs; round++) {
      const due = await deps.store.claimDueTimers(deps.clock.now(), deps.batchSize, leaseMs);
      for (const timer of due) {
        try {
          const service = timer.subject_kind === 'handoff' ? deps.handoffs : deps.runs;
          const fired = await service.fireTimer(timer);
          if (!fired) await deps.store.deleteTimer(timer);
        } catch (error) {
          deps.logger.warn({ err: error, timer: { kind: timer.kind, subject: timer.subject_id } }, 'timer could not fire; retried after its lease');
        }
      }
      if (due.length < deps.batchSize) break;
    }
    const next = await deps.store.nextTimerDue();
    return next ?? undefined;
  };
}
