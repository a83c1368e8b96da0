// Pure pieces of a run: its initial shape from a definition, and the rollback plan a
// failed run gets.

import { resolveRollbackEntry } from './definitions.ts';
import { timeOrderedHex } from './ids.ts';
import type { JsonObject, RollbackPlan, RollbackStep, Run, RunPhase, WorkflowDefinition } from './types.ts';

export function newRun(
  definition: WorkflowDefinition,
  input: { parameters: JsonObject; concurrency_key: string | null; dry_run: boolean; started_by: string },
  now: number,
): Run {
  return {
    run_id: `run_${timeOrderedHex(now)}`,
    workflow_id: definition.workflow_id,
    workflow_version: definition.version,
    status: 'running',
    parameters: input.parameters,
    concurrency_key: input.concurrency_key,
    dry_run: input.dry_run,
    started_by: input.started_by,
    phases: definition.phases.map(
      (phase): RunPhase => ({
        phase_id: phase.phase_id,
        contractor: phase.contractor,
        status: 'pending',
        started_at: null,
        finished_at: null,
        error: null,
        output: null,
        actions: [],
      }),
    ),
    error: null,
    rollback: null,
    version: 1,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
}

/**
 * The rollback plan of a failed run: the phases that started (completed, failed or
 * still in progress when the run failed) are undone. With a rollback_procedure, only
 * the started phases it names are undone, in its order: a phase it leaves out is never
 * undone (templates/definitions/README.md; e.g. incident containment). Without one,
 * every started phase is undone, the latest started first (Saga-style reverse order).
 */
export function rollbackPlan(definition: WorkflowDefinition, run: Run): RollbackPlan {
  const started = run.phases.filter((phase) => phase.started_at !== null);
  const startedIds = new Set(started.map((phase) => phase.phase_id));
  const ordered: string[] = [];
  for (const entry of definition.rollback_procedure?.phases ?? []) {
    const phaseId = resolveRollbackEntry(definition, entry);
    if (phaseId && startedIds.has(phaseId) && !ordered.includes(phaseId)) ordered.push(phaseId);
  }
  const rest = definition.rollback_procedure
    ? []
    : started
        .sort((a, b) => (b.started_at ?? 0) - (a.started_at ?? 0) || run.phases.indexOf(b) - run.phases.indexOf(a))
        .map((phase) => phase.phase_id);
  const steps = [...ordered, ...rest].map((phaseId): RollbackStep => {
    const phase = definition.phases.find((candidate) => candidate.phase_id === phaseId);
    return {
      step_id: `${phaseId}-rollback`,
      phase_id: phaseId,
      contractor: phase?.contractor ?? 'unknown',
      actions: phase?.rollback ?? [],
      status: 'pending',
      updated_at: null,
      note: null,
    };
  });
  return { status: steps.length === 0 ? 'done' : 'pending', steps };
}

/** The plan's overall status from its steps. */
export function rollbackStatus(steps: RollbackStep[]): RollbackPlan['status'] {
  if (steps.some((step) => step.status === 'failed')) return 'failed';
  if (steps.every((step) => step.status === 'done')) return 'done';
  return steps.some((step) => step.status === 'done') ? 'in_progress' : 'pending';
}
