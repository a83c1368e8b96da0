// Who a run involves: the contractor that started it and the contractors its definition
// assigns to the run's phases. A rollback step is always owned by the contractor of the
// phase it undoes (run-plan.ts, same definition version), so it adds nobody. The parties
// are fixed when the run starts; the stores index them (run_parties) for the lists.

import type { Run } from './types.ts';

/** Distinct, started_by first, then the phases' contractors in phase order. */
export function runParties(run: Pick<Run, 'started_by' | 'phases'>): string[] {
  return [...new Set([run.started_by, ...run.phases.map((phase) => phase.contractor)])];
}
