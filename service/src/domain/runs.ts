// Runs of a workflow definition: phases and actions reported by the contractors doing
// the work, their timeouts enforced by the service, and the rollback plan of a failed run.

import { CortexError, conflict, forbidden, notFound } from './errors.ts';
import { commit, type IdempotencyRequest, type Outcome } from './commit.ts';
import { phaseTimeoutSeconds } from './definitions.ts';
import { isAdmin, type Clock, type DomainObserver, type Principal } from './principal.ts';
import { redactSecrets } from './redact.ts';
import { runParties } from './run-parties.ts';
import { newRun, rollbackPlan, rollbackStatus } from './run-plan.ts';
import type {
  DefinitionAction,
  ErrorInfo,
  EventType,
  HistoryEvent,
  JsonObject,
  OutgoingEvent,
  RollbackStepStatus,
  Run,
  RunPhase,
  Timer,
  TimerRef,
  WorkflowDefinition,
} from './types.ts';
import type { Mutation, Page, RunQuery, Store } from '../store/store.ts';

export interface StartRunInput {
  workflow_id: string;
  version?: string;
  parameters?: JsonObject;
  concurrency_key?: string | null;
  dry_run?: boolean;
}

interface Change {
  /** History rows beyond the run's own event. */
  history: { type: string; data: JsonObject }[];
  event?: EventType;
  timersToSet?: Timer[];
  timersToClear?: TimerRef[];
}

type Mutator = (run: Run, definition: WorkflowDefinition, now: number) => Change;

const SYSTEM: Principal = { name: 'cortex', role: 'admin' };

export class RunService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly observer: DomainObserver;

  constructor(store: Store, clock: Clock, observer: DomainObserver) {
    this.store = store;
    this.clock = clock;
    this.observer = observer;
  }

  async start(principal: Principal, input: StartRunInput, idempotency?: IdempotencyRequest): Promise<Outcome<Run>> {
    const definition = await this.store.getDefinition(input.workflow_id, input.version);
    if (!definition) {
      throw notFound('definition', input.version ? `${input.workflow_id}@${input.version}` : input.workflow_id);
    }
    return commit(this.store, this.clock, principal, idempotency, async () => {
      const now = this.clock.now();
      const run = newRun(
        definition,
        {
          parameters: input.parameters ?? {},
          concurrency_key: input.concurrency_key ?? null,
          dry_run: input.dry_run ?? false,
          started_by: principal.name,
        },
        now,
      );
      const mutation: Mutation = {
        run: { insert: run },
        history: [this.historyEvent(run, 'run.started', principal, now, { parameters: run.parameters, dry_run: run.dry_run })],
        outgoing: [this.outgoing(run, 'run.started')],
        stats: [...new Set(definition.contractors)].map((contractor) => ({
          kind: 'participation' as const,
          contractor,
          key: run.run_id,
        })),
      };
      return { record: run, status: 201, mutation };
    });
  }

  /** A contractor reads only runs it is party to (run-parties.ts), like handoffs: 404 unknown, 403 not a party. */
  async get(principal: Principal, id: string): Promise<Run> {
    const run = await this.store.getRun(id);
    if (!run) throw notFound('run', id);
    if (!isAdmin(principal) && !runParties(run).includes(principal.name)) {
      throw forbidden(`contractor ${principal.name} is not a party to run ${id}: it neither started the run nor owns one of its phases`);
    }
    return run;
  }

  list(principal: Principal, query: RunQuery): Promise<Page<Run>> {
    return this.store.listRuns(isAdmin(principal) ? query : { ...query, involving: principal.name });
  }

  async history(principal: Principal, id: string, afterSeq: number, limit: number): Promise<HistoryEvent[]> {
    await this.get(principal, id);
    return this.store.listHistory('run', id, afterSeq, limit);
  }

  startPhase(principal: Principal, runId: string, phaseId: string, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, definition, now) => {
      const phase = this.phase(run, phaseId);
      if (phase.status !== 'pending') throw illegal(`phase ${phaseId} is ${phase.status}, not pending`);
      phase.status = 'in_progress';
      phase.started_at = now;
      const limit = phaseTimeoutSeconds(this.definitionPhase(definition, phaseId));
      return {
        history: [{ type: 'phase.started', data: { phase_id: phaseId } }],
        timersToSet: limit === null ? [] : [this.timer(run, `phase:${phaseId}`, now + limit * 1000)],
      };
    });
  }

  completePhase(principal: Principal, runId: string, phaseId: string, output: JsonObject | undefined, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, _definition, now) => {
      const phase = this.phase(run, phaseId);
      if (phase.status !== 'in_progress') throw illegal(`phase ${phaseId} is ${phase.status}, not in_progress`);
      if (phase.actions.some((action) => action.status === 'in_progress')) {
        throw illegal(`phase ${phaseId} still has actions in progress`);
      }
      phase.status = 'completed';
      phase.finished_at = now;
      phase.output = output ?? null;
      return {
        history: [{ type: 'phase.completed', data: { phase_id: phaseId, output: phase.output } }],
        timersToClear: this.phaseTimers(run, phase),
      };
    });
  }

  failPhase(principal: Principal, runId: string, phaseId: string, error: ErrorInfo, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, definition, now) => {
      const phase = this.phase(run, phaseId);
      if (phase.status !== 'in_progress') throw illegal(`phase ${phaseId} is ${phase.status}, not in_progress`);
      return this.failWith(run, definition, now, phase, error, true);
    });
  }

  startAction(principal: Principal, runId: string, phaseId: string, actionId: string, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, definition, now) => {
      const phase = this.phase(run, phaseId);
      if (phase.status !== 'in_progress') throw illegal(`phase ${phaseId} is ${phase.status}, not in_progress`);
      const declared = this.definitionAction(definition, phaseId, actionId);
      const existing = phase.actions.find((action) => action.action_id === actionId);
      if (existing?.status === 'in_progress') throw illegal(`action ${actionId} is already in progress`);
      const entry = { action_id: actionId, status: 'in_progress' as const, started_at: now, finished_at: null, error: null };
      phase.actions = [...phase.actions.filter((action) => action.action_id !== actionId), entry];
      return {
        history: [{ type: 'action.started', data: { phase_id: phaseId, action_id: actionId } }],
        timersToSet: declared.timeout ? [this.timer(run, actionTimer(phaseId, actionId), now + declared.timeout * 1000)] : [],
      };
    });
  }

  completeAction(principal: Principal, runId: string, phaseId: string, actionId: string, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, _definition, now) => {
      const action = this.runningAction(run, phaseId, actionId);
      action.status = 'completed';
      action.finished_at = now;
      return {
        history: [{ type: 'action.completed', data: { phase_id: phaseId, action_id: actionId } }],
        timersToClear: [{ subject_kind: 'run', subject_id: run.run_id, kind: actionTimer(phaseId, actionId) }],
      };
    });
  }

  failAction(principal: Principal, runId: string, phaseId: string, actionId: string, error: ErrorInfo, options: Options = {}) {
    return this.modify(principal, runId, phaseId, options, (run, definition, now) =>
      this.actionFailure(run, definition, now, phaseId, actionId, error),
    );
  }

  complete(principal: Principal, runId: string, options: Options = {}) {
    return this.modify(principal, runId, null, options, (run, _definition, now) => {
      const open = run.phases.filter((phase) => phase.status === 'in_progress').map((phase) => phase.phase_id);
      if (open.length > 0) throw illegal(`phases still in progress: ${open.join(', ')}`);
      for (const phase of run.phases) if (phase.status === 'pending') phase.status = 'skipped';
      run.status = 'completed';
      run.finished_at = now;
      return {
        history: [],
        event: 'run.completed',
        timersToClear: [{ subject_kind: 'run', subject_id: run.run_id }],
      };
    });
  }

  fail(principal: Principal, runId: string, error: ErrorInfo, rollback: boolean, options: Options = {}) {
    return this.modify(principal, runId, null, options, (run, definition, now) =>
      this.failWith(run, definition, now, null, error, rollback),
    );
  }

  async rollbackStep(
    principal: Principal,
    runId: string,
    stepId: string,
    status: Exclude<RollbackStepStatus, 'pending'>,
    note: string | undefined,
    options: Options = {},
  ): Promise<Outcome<Run>> {
    return this.modify(principal, runId, null, { ...options, allowFinished: true, stepId }, (run, _definition, now) => {
      if (!run.rollback) throw illegal(`run ${runId} has no rollback plan`);
      const step = run.rollback.steps.find((candidate) => candidate.step_id === stepId);
      if (!step) throw notFound('rollback_step', stepId);
      if (step.status !== 'pending') throw illegal(`rollback step ${stepId} is already ${step.status}`);
      step.status = status;
      step.updated_at = now;
      step.note = note ?? null;
      run.rollback.status = rollbackStatus(run.rollback.steps);
      return { history: [{ type: 'rollback.step', data: { step_id: stepId, status, note: step.note } }] };
    });
  }

  /** Fires a due run timer; false when it no longer applies. */
  async fireTimer(timer: Timer): Promise<boolean> {
    let fired = false;
    try {
      await this.modify(SYSTEM, timer.subject_id, null, {}, (run, definition, now) => {
        if (timer.kind.startsWith('phase:')) {
          const phase = run.phases.find((candidate) => candidate.phase_id === timer.kind.slice('phase:'.length));
          if (!phase || phase.status !== 'in_progress') throw new StaleTimer();
          const limit = phaseTimeoutSeconds(this.definitionPhase(definition, phase.phase_id));
          fired = true;
          return this.failWith(run, definition, now, phase, { code: 'phase_timeout', message: `phase ${phase.phase_id} did not finish within ${limit}s` }, true);
        }
        if (timer.kind.startsWith('action:')) {
          const [phaseId = '', actionId = ''] = timer.kind.slice('action:'.length).split('/');
          const action = run.phases.find((p) => p.phase_id === phaseId)?.actions.find((a) => a.action_id === actionId);
          if (!action || action.status !== 'in_progress') throw new StaleTimer();
          const declared = this.definitionAction(definition, phaseId, actionId);
          fired = true;
          return this.actionFailure(run, definition, now, phaseId, actionId, {
            code: 'action_timeout',
            message: `action ${actionId} did not finish within ${declared.timeout}s`,
          });
        }
        throw new StaleTimer();
      });
    } catch (error) {
      if (error instanceof StaleTimer || (error instanceof CortexError && error.code === 'illegal_transition')) return false;
      throw error;
    }
    if (fired) this.observer.timeoutFired(timer.kind.split(':')[0] ?? 'run');
    return fired;
  }

  // ------------------------------------------------------------------ internals

  private async modify(
    principal: Principal,
    runId: string,
    phaseId: string | null,
    options: Options,
    mutate: Mutator,
  ): Promise<Outcome<Run>> {
    let definitionCache: WorkflowDefinition | null = null;
    const outcome = await commit(this.store, this.clock, principal, options.idempotency, async () => {
      const current = await this.store.getRun(runId);
      if (!current) throw notFound('run', runId);
      this.authorize(principal, current, phaseId, options.stepId);
      if (options.ifMatch !== undefined && options.ifMatch !== current.version) {
        throw conflict('version_mismatch', `run ${runId} is at version ${current.version}, not ${options.ifMatch}`);
      }
      if (current.status !== 'running' && !options.allowFinished) throw illegal(`run ${runId} is ${current.status}`);
      definitionCache ??= await this.store.getDefinition(current.workflow_id, current.workflow_version);
      if (!definitionCache) throw notFound('definition', `${current.workflow_id}@${current.workflow_version}`);
      const now = this.clock.now();
      const next: Run = structuredClone(current);
      next.version = current.version + 1;
      next.updated_at = now;
      const change = mutate(next, definitionCache, now);
      const history = change.history.map((entry) => this.historyEvent(next, entry.type, principal, now, entry.data));
      if (change.event) history.push(this.historyEvent(next, change.event, principal, now, { status: next.status, error: next.error ? { ...next.error } : null }));
      const finished = current.status === 'running' && next.status !== 'running';
      const mutation: Mutation = {
        run: { update: next, expectedVersion: current.version },
        history,
        outgoing: change.event ? [this.outgoing(next, change.event)] : [],
        timersToClear: change.timersToClear ?? [],
        timersToSet: change.timersToSet ?? [],
        stats:
          finished && !next.dry_run
            ? [
                {
                  kind: 'run_finished',
                  workflow_id: next.workflow_id,
                  status: next.status === 'completed' ? 'completed' : 'failed',
                  duration_ms: now - next.created_at,
                  at: now,
                },
              ]
            : [],
      };
      return { record: next, status: 200, mutation };
    });
    const run = outcome.record;
    // Dry runs are not executions: like the workflow stats, the duration histogram leaves them out.
    if (!outcome.replayed && !run.dry_run && run.finished_at !== null && run.updated_at === run.finished_at && !options.stepId) {
      this.observer.runFinished(run.workflow_id, run.status, run.finished_at - run.created_at);
    }
    return outcome;
  }

  /** Fails the run (and the phase that caused it, if any); a rollback plan when asked. */
  private failWith(
    run: Run,
    definition: WorkflowDefinition,
    now: number,
    cause: RunPhase | null,
    error: ErrorInfo,
    rollback: boolean,
  ): Change {
    for (const phase of run.phases) {
      if (phase.status !== 'in_progress') continue;
      phase.status = 'failed';
      phase.finished_at = now;
      phase.error = phase === cause ? error : { code: 'run_failed', message: `run failed: ${error.code}` };
      for (const action of phase.actions) {
        if (action.status === 'in_progress') {
          action.status = 'failed';
          action.finished_at = now;
          action.error = { code: 'run_failed', message: `run failed: ${error.code}` };
        }
      }
    }
    run.status = 'failed';
    run.error = error;
    run.finished_at = now;
    run.rollback = rollback ? rollbackPlan(definition, run) : null;
    return {
      history: cause ? [{ type: 'phase.failed', data: { phase_id: cause.phase_id, error: { ...error } } }] : [],
      event: 'run.failed',
      timersToClear: [{ subject_kind: 'run', subject_id: run.run_id }],
    };
  }

  /** An action failed (or timed out): its on_error decides whether the run goes on. */
  private actionFailure(run: Run, definition: WorkflowDefinition, now: number, phaseId: string, actionId: string, error: ErrorInfo): Change {
    const action = this.runningAction(run, phaseId, actionId);
    const declared = this.definitionAction(definition, phaseId, actionId);
    action.status = 'failed';
    action.finished_at = now;
    action.error = error;
    const record = { type: 'action.failed', data: { phase_id: phaseId, action_id: actionId, error: { ...error }, on_error: declared.on_error ?? 'rollback' } };
    const timer: TimerRef = { subject_kind: 'run', subject_id: run.run_id, kind: actionTimer(phaseId, actionId) };
    if (declared.on_error === 'continue') return { history: [record], timersToClear: [timer] };
    const change = this.failWith(run, definition, now, this.phase(run, phaseId), error, declared.on_error !== 'fail');
    return { ...change, history: [record, ...change.history] };
  }

  private authorize(principal: Principal, run: Run, phaseId: string | null, stepId?: string): void {
    if (isAdmin(principal) || principal.name === run.started_by) return;
    const contractor = stepId
      ? run.rollback?.steps.find((step) => step.step_id === stepId)?.contractor
      : phaseId
        ? run.phases.find((phase) => phase.phase_id === phaseId)?.contractor
        : undefined;
    if (contractor !== undefined && contractor === principal.name) return;
    throw forbidden(
      `contractor ${principal.name} may not change run ${run.run_id}${phaseId ? ` phase ${phaseId}` : ''}: it neither started the run nor owns the phase`,
    );
  }

  private phase(run: Run, phaseId: string): RunPhase {
    const phase = run.phases.find((candidate) => candidate.phase_id === phaseId);
    if (!phase) throw notFound('phase', phaseId);
    return phase;
  }

  private runningAction(run: Run, phaseId: string, actionId: string) {
    const action = this.phase(run, phaseId).actions.find((candidate) => candidate.action_id === actionId);
    if (!action || action.status !== 'in_progress') throw illegal(`action ${actionId} is not in progress`);
    return action;
  }

  private definitionPhase(definition: WorkflowDefinition, phaseId: string) {
    const phase = definition.phases.find((candidate) => candidate.phase_id === phaseId);
    if (!phase) throw notFound('phase', phaseId);
    return phase;
  }

  private definitionAction(definition: WorkflowDefinition, phaseId: string, actionId: string): DefinitionAction {
    const action = this.definitionPhase(definition, phaseId).actions.find((candidate) => candidate.action_id === actionId);
    if (!action) throw notFound('action', actionId);
    return action;
  }

  private phaseTimers(run: Run, phase: RunPhase): TimerRef[] {
    return [
      { subject_kind: 'run', subject_id: run.run_id, kind: `phase:${phase.phase_id}` },
      ...phase.actions.map((action) => ({ subject_kind: 'run' as const, subject_id: run.run_id, kind: actionTimer(phase.phase_id, action.action_id) })),
    ];
  }

  private timer(run: Run, kind: string, dueAt: number): Timer {
    return { subject_kind: 'run', subject_id: run.run_id, kind, due_at: dueAt };
  }

  private historyEvent(run: Run, type: string, principal: Principal, at: number, data: JsonObject): HistoryEvent {
    return { subject_kind: 'run', subject_id: run.run_id, type, actor: principal.name, at, data: redactSecrets(data) };
  }

  private outgoing(run: Run, type: EventType): OutgoingEvent {
    return { type, attributes: { run_id: run.run_id, workflow_id: run.workflow_id }, payload: { run: runPayload(run) } };
  }
}

export interface Options {
  ifMatch?: number;
  idempotency?: IdempotencyRequest;
  allowFinished?: boolean;
  stepId?: string;
}

const actionTimer = (phaseId: string, actionId: string): string => `action:${phaseId}/${actionId}`;

const illegal = (message: string): CortexError => conflict('illegal_transition', message);

class StaleTimer extends CortexError {
  constructor() {
    super('conflict', 'stale_timer', 'timer no longer applies');
  }
}

/** The run as clients and subscribers see it: ISO times. */
export function runPayload(run: Run): JsonObject {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return {
    run_id: run.run_id,
    workflow_id: run.workflow_id,
    workflow_version: run.workflow_version,
    status: run.status,
    parameters: run.parameters,
    concurrency_key: run.concurrency_key,
    dry_run: run.dry_run,
    started_by: run.started_by,
    phases: run.phases.map((phase) => ({
      phase_id: phase.phase_id,
      contractor: phase.contractor,
      status: phase.status,
      started_at: iso(phase.started_at),
      finished_at: iso(phase.finished_at),
      error: phase.error ? { ...phase.error } : null,
      output: phase.output,
      actions: phase.actions.map((action) => ({
        action_id: action.action_id,
        status: action.status,
        started_at: iso(action.started_at),
        finished_at: iso(action.finished_at),
        error: action.error ? { ...action.error } : null,
      })),
    })),
    error: run.error ? { ...run.error } : null,
    rollback: run.rollback
      ? {
          status: run.rollback.status,
          steps: run.rollback.steps.map((step) => ({
            step_id: step.step_id,
            phase_id: step.phase_id,
            contractor: step.contractor,
            actions: step.actions as unknown as JsonObject[],
            status: step.status,
            updated_at: iso(step.updated_at),
            note: step.note,
          })),
        }
      : null,
    version: run.version,
    created_at: iso(run.created_at),
    updated_at: iso(run.updated_at),
    finished_at: iso(run.finished_at),
  };
}
