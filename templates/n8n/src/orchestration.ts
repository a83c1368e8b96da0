// The shape every seed-workflow template shares (the n8n-contractor orchestrates):
//
//   trigger(s) → Settings → Run Request → Check Parameters → Parameters Complete? ─no→ Respond 400
//     → Start Run ─error→ Respond 409 (definition missing, concurrency key held)
//     → Respond 202 {run_id} → phase → phase → … → Complete Run
//
// A phase of another contractor: Start Phase → Hand Off (Handoff: Create, with run_id/phase_id and
// the run's parameters and earlier outputs) → Wait (Wait for Completion) ─Completed→ Complete Phase
// (the worker's result is the phase output) / ─Failed / Timed Out→ Failed: <phase>.
// A phase of the n8n-contractor runs inline between Start Phase and Complete Phase.
// Every failure → Fail Phase (the service fails the run and writes the rollback plan; Fail Run
// when the phase cannot be failed any more) → Get Run → Get Rollback Plan → each step handed to
// its contractor (Create + Wait) and marked done / failed → Stop and Error with the outcome.

import { readFileSync } from 'node:fs';
// The seed's definition format is the service's (it validates them on POST /v1/definitions).
import type { DefinitionPhase, WorkflowDefinition as Definition } from '../../../service/src/domain/types.ts';
import { WorkflowBuilder, type NodeSpec, type WorkflowMeta } from './builder.ts';
import {
  expr, handoff, ifTrue, loop, noOp, onErrorOutput, respond, set, splitOut, sticky, stopAndError, switchOn, tmpl,
} from './nodes.ts';

export type { Definition };

export function loadDefinition(workflowId: string): Definition {
  return JSON.parse(readFileSync(new URL(`../../definitions/${workflowId}.json`, import.meta.url), 'utf8')) as Definition;
}

export const N8N = 'n8n-contractor';
const RUN = "$('Start Run').first().json";
export const RUN_ID = `${RUN}.run_id`;
export const PARAMS = `${RUN}.parameters`;

/** The output of an earlier phase, read from the run (Start Run's item is the run at its start; this reads the latest run on the item). */
export const phaseOutput = (runCode: string, phaseId: string): string => `((${runCode}.phases.find(p => p.phase_id === '${phaseId}') ?? {}).output ?? {})`;

/** Seconds a phase may take: its timeout, or the sum of its actions' timeouts. */
export function phaseSeconds(phase: DefinitionPhase): number {
  return phase.timeout ?? phase.actions.reduce((sum, action) => sum + (action.timeout ?? 600), 0);
}

/** What an inline phase builds: its last node (output 0 goes on to Complete Phase) and the outputs that fail it. */
export interface InlineResult {
  last: string;
  lastOutput?: number;
  failures: Array<[string, number]>;
}

export interface TriggerResult {
  /** Nodes whose output 0 carries `{given: {...parameters}}` into Settings. */
  entries: string[];
}

export interface OrchestratorSpec {
  definition: Definition;
  meta: WorkflowMeta;
  /** Adds the trigger(s) and their normalisers. */
  triggers(b: WorkflowBuilder): TriggerResult;
  /** Default parameters (editable in the Settings node); the caller's parameters win. */
  defaults: Record<string, unknown>;
  /** Parameters that must be present (non-empty) before the run starts. */
  required: string[];
  /** Expression code for the concurrency key from `$json.parameters`. */
  concurrencyKey: string;
  /** n8n-contractor phases, built inline after their Start Phase node. */
  inline?: Record<string, (b: WorkflowBuilder, start: string) => InlineResult>;
  /** Extra work for another contractor's phase after its handoff completed (e.g. an approval); its last node leads to Complete Phase. */
  afterHandoff?: Record<string, (b: WorkflowBuilder, completed: string) => InlineResult>;
  /** Complete Phase output expression code per phase (default: the handoff's result). */
  phaseOutputs?: Record<string, string>;
  /** Text of the sticky note. */
  note: string;
}

const PHASE_FAILURE_CODE =
  "$json.error?.code ?? ($json.approval_id ? 'approval_' + ($json.wait_timeout ? 'timed_out' : $json.status) : (typeof $json.error === 'string' ? 'step_failed' : 'phase_failed'))";
const PHASE_FAILURE_MESSAGE =
  "$json.error?.message ?? ($json.approval_id ? 'approval ' + $json.approval_id + ' ' + ($json.wait_timeout ? 'not decided in time' : $json.status) + ($json.outcome_reason ? ': ' + $json.outcome_reason : '') : (typeof $json.error === 'string' ? $json.error : JSON.stringify($json.error ?? 'failed')))";

/** The Set node every failure of a phase goes to: phase_id, error_code, error_message. */
export function failureNode(b: WorkflowBuilder, phaseId: string): string {
  const name = `Failed: ${phaseId}`;
  if (!b.has(name)) {
    b.add(
      set(name, [
        ['phase_id', 'string', phaseId],
        ['error_code', 'string', expr(PHASE_FAILURE_CODE)],
        ['error_message', 'string', expr(PHASE_FAILURE_MESSAGE)],
      ]),
    );
  }
  return name;
}

export function buildOrchestrator(spec: OrchestratorSpec): WorkflowBuilder {
  const { definition } = spec;
  const b = new WorkflowBuilder(spec.meta);
  b.add(sticky('Note', spec.note, 640, 460), [-40, -560]);

  // ------------------------------------------------------------------ request → run
  const { entries } = spec.triggers(b);
  const settings = b.add(
    set('Settings', [['defaults', 'object', JSON.stringify(spec.defaults, null, 2)]], { keepOthers: true }),
  );
  for (const entry of entries) b.connect(entry, settings);
  const request = b.add(
    set('Run Request', [
      ['workflow_id', 'string', definition.workflow_id],
      ['parameters', 'object', expr('Object.assign({}, $json.defaults, $json.given)')],
    ]),
  );
  const required = JSON.stringify(spec.required).replace(/"/g, "'");
  const check = b.add(
    set(
      'Check Parameters',
      [
        ['missing', 'array', expr(`${required}.filter(k => $json.parameters[k] === undefined || $json.parameters[k] === null || $json.parameters[k] === '' || (Array.isArray($json.parameters[k]) && $json.parameters[k].length === 0))`)],
        ['concurrency_key', 'string', expr(spec.concurrencyKey)],
      ],
      { keepOthers: true },
    ),
  );
  const complete = b.add(ifTrue('Parameters Complete?', '$json.missing.length === 0'));
  const badRequest = b.add(
    respond('Respond: Missing Parameters', 400, expr("({ error: { code: 'missing_parameters', message: 'missing parameters: ' + $json.missing.join(', '), missing: $json.missing } })")),
  );
  const startRun = b.add(
    handoff(
      'Start Run',
      'cortexN8n',
      {
        resource: 'workflowRun',
        operation: 'start',
        workflowId: definition.workflow_id,
        parameters: expr('JSON.stringify($json.parameters)'),
        options: { concurrencyKey: expr('$json.concurrency_key') },
      },
      onErrorOutput,
    ),
  );
  const notStarted = b.add(
    respond('Respond: Not Started', 409, expr("({ error: { code: 'run_not_started', message: $json.error } })")),
  );
  const accepted = b.add(
    respond(
      'Respond: Accepted',
      202,
      expr('({ run_id: $json.run_id, workflow_id: $json.workflow_id, status: $json.status, concurrency_key: $json.concurrency_key })'),
    ),
  );
  b.chain(settings, request, check, complete, startRun, accepted);
  b.connect(complete, badRequest, 1);
  b.connect(startRun, notStarted, 1);

  // ------------------------------------------------------------------ phases
  let previous = accepted;
  let previousPhase: string | null = null;
  for (const phase of definition.phases) {
    const startPhase = b.add(
      handoff(`Start Phase: ${phase.phase_id}`, 'cortexN8n', { resource: 'workflowRun', operation: 'startPhase', runId: expr(RUN_ID), phaseId: phase.phase_id }),
    );
    b.connect(previous, startPhase);
    const completePhase = `Complete Phase: ${phase.phase_id}`;
    let outputCode = spec.phaseOutputs?.[phase.phase_id];
    let last: string;
    let lastOutput = 0;
    if (phase.contractor === N8N) {
      const inline = spec.inline?.[phase.phase_id];
      if (!inline) throw new Error(`${definition.workflow_id}: no inline build for n8n phase ${phase.phase_id}`);
      const result = inline(b, startPhase);
      last = result.last;
      lastOutput = result.lastOutput ?? 0;
      for (const [node, output] of result.failures) b.connect(node, failureNode(b, phase.phase_id), output);
      outputCode ??= '{}';
    } else {
      const seconds = phaseSeconds(phase) + 300;
      const claim = 300;
      const dataCode =
        `JSON.stringify({ workflow_id: $json.workflow_id, run_id: $json.run_id, phase_id: '${phase.phase_id}', mode: 'run', ` +
        `parameters: $json.parameters, handoff: ${previousPhase ? phaseOutput('$json', previousPhase) : '{}'}, ` +
        'outputs: Object.fromEntries($json.phases.filter(p => p.output).map(p => [p.phase_id, p.output])) })';
      const create = b.add(
        handoff(`Hand Off: ${phase.phase_id}`, 'cortexN8n', {
          resource: 'handoff',
          operation: 'create',
          fromContractor: N8N,
          toContractor: phase.contractor,
          taskId: tmpl(`{{ $json.run_id }}/${phase.phase_id}`),
          dataMode: 'json',
          dataJson: expr(dataCode),
          options: { runId: expr('$json.run_id'), phaseId: phase.phase_id, claimTimeout: claim, completionTimeout: seconds },
        }),
      );
      const waitNode = b.add(
        handoff(`Wait: ${phase.phase_id}`, 'cortexN8n', {
          resource: 'handoff',
          operation: 'waitForCompletion',
          handoffId: expr('$json.handoff_id'),
          limitWaitTime: true,
          limitAmount: Math.ceil((claim + seconds) / 60) + 15,
          limitUnit: 'minutes',
        }),
      );
      b.chain(startPhase, create, waitNode);
      b.connect(waitNode, failureNode(b, phase.phase_id), 1);
      last = waitNode;
      const after = spec.afterHandoff?.[phase.phase_id];
      if (after) {
        const result = after(b, waitNode);
        last = result.last;
        lastOutput = result.lastOutput ?? 0;
        for (const [node, output] of result.failures) b.connect(node, failureNode(b, phase.phase_id), output);
      }
      outputCode ??= `$('${waitNode}').first().json.result ?? {}`;
    }
    b.add(
      handoff(completePhase, 'cortexN8n', {
        resource: 'workflowRun',
        operation: 'completePhase',
        runId: expr(RUN_ID),
        phaseId: phase.phase_id,
        output: expr(`JSON.stringify(${outputCode})`),
      }),
    );
    b.connect(last, completePhase, lastOutput);
    previous = completePhase;
    previousPhase = phase.phase_id;
  }
  const completeRun = b.add(handoff('Complete Run', 'cortexN8n', { resource: 'workflowRun', operation: 'complete', runId: expr(RUN_ID) }));
  const done = b.add(noOp('Run Completed'));
  b.chain(previous, completeRun, done);

  addFailureAndRollback(b, definition);
  return b;
}

/** Fail Phase / Fail Run → the rollback plan → each step to its contractor → Stop and Error. */
function addFailureAndRollback(b: WorkflowBuilder, definition: Definition): void {
  const failPhase = b.add(
    handoff(
      'Fail Phase',
      'cortexN8n',
      {
        resource: 'workflowRun',
        operation: 'failPhase',
        runId: expr(RUN_ID),
        phaseId: expr('$json.phase_id'),
        errorCode: expr('$json.error_code'),
        errorMessage: expr('$json.error_message'),
      },
      onErrorOutput,
    ),
  );
  for (const phase of definition.phases) {
    const failure = `Failed: ${phase.phase_id}`;
    if (b.has(failure)) b.connect(failure, failPhase);
  }
  const failRun = b.add(
    handoff(
      'Fail Run',
      'cortexN8n',
      {
        resource: 'workflowRun',
        operation: 'fail',
        runId: expr(RUN_ID),
        errorCode: expr("$json.error_code ?? 'run_failed'"),
        errorMessage: expr('$json.error_message ?? $json.error'),
        rollback: true,
      },
      { onError: 'continueRegularOutput' },
    ),
  );
  const getRun = b.add(handoff('Get Run', 'cortexN8n', { resource: 'workflowRun', operation: 'get', runId: expr(RUN_ID) }));
  const plan = b.add(
    handoff('Get Rollback Plan', 'cortexN8n', { resource: 'workflowRun', operation: 'getRollbackPlan', runId: expr(RUN_ID) }, onErrorOutput),
  );
  b.connect(failPhase, getRun, 0);
  b.connect(failPhase, failRun, 1);
  b.chain(failRun, getRun, plan);

  const anySteps = b.add(ifTrue('Any Rollback Steps?', '($json.steps ?? []).length > 0'));
  const steps = b.add(splitOut('Rollback Steps', 'steps'));
  const each = b.add(loop('Each Rollback Step'));
  b.chain(plan, anySteps, steps, each);

  const GET_RUN = "$('Get Run').first().json";
  const contractors = [...new Set(rollbackContractors(definition))];
  const others = contractors.filter((c) => c !== N8N);
  const route = b.add(switchOn('Step Contractor', '$json.contractor', contractors, 'Other Contractor'));
  b.connect(each, route, 1);

  const markDone = b.add(
    handoff('Mark Step Done', 'cortexN8n', {
      resource: 'workflowRun',
      operation: 'markRollbackStep',
      runId: expr(RUN_ID),
      stepId: expr('$json.data.step_id'),
      stepStatus: 'done',
      note: tmpl('undone by {{ $json.to_contractor }} (handoff {{ $json.handoff_id }})'),
    }),
  );
  const markFailed = b.add(
    handoff('Mark Step Failed', 'cortexN8n', {
      resource: 'workflowRun',
      operation: 'markRollbackStep',
      runId: expr(RUN_ID),
      stepId: expr('$json.data?.step_id ?? $json.step_id'),
      stepStatus: 'failed',
      note: expr("$json.error?.message ?? ('no automated rollback for ' + $json.contractor + ': undo by hand')"),
    }),
  );
  if (others.length) {
    const create = b.add(
      handoff('Hand Off Rollback', 'cortexN8n', {
        resource: 'handoff',
        operation: 'create',
        fromContractor: N8N,
        toContractor: expr('$json.contractor'),
        taskId: tmpl(`{{ ${RUN_ID} }}/{{ $json.phase_id }}-rollback`),
        dataMode: 'json',
        dataJson: expr(
          `JSON.stringify({ workflow_id: ${GET_RUN}.workflow_id, run_id: ${GET_RUN}.run_id, phase_id: $json.phase_id, mode: 'rollback', step_id: $json.step_id, ` +
            `actions: $json.actions, parameters: ${GET_RUN}.parameters, ` +
            `output: ((${GET_RUN}.phases.find(p => p.phase_id === $json.phase_id) ?? {}).output ?? {}), ` +
            `handoff: (${GET_RUN}.phases[${GET_RUN}.phases.findIndex(p => p.phase_id === $json.phase_id) - 1] ?? {}).output ?? {} })`,
        ),
        options: { runId: expr(RUN_ID), phaseId: expr('$json.phase_id'), claimTimeout: 300, completionTimeout: 3600 },
      }),
    );
    const waitRollback = b.add(
      handoff('Wait: Rollback Step', 'cortexN8n', {
        resource: 'handoff',
        operation: 'waitForCompletion',
        handoffId: expr('$json.handoff_id'),
        limitWaitTime: true,
        limitAmount: 90,
        limitUnit: 'minutes',
      }),
    );
    for (const contractor of others) b.connect(route, create, contractors.indexOf(contractor));
    b.chain(create, waitRollback, markDone);
    b.connect(waitRollback, markFailed, 1);
  }
  if (contractors.includes(N8N)) {
    const undo = b.add(
      noOp(
        'Undo n8n Step',
        'The n8n-contractor\'s own rollback actions (unregister monitoring, DNS back, …): connect your tools here',
      ),
    );
    const markN8n = b.add(
      handoff('Mark n8n Step Done', 'cortexN8n', {
        resource: 'workflowRun',
        operation: 'markRollbackStep',
        runId: expr(RUN_ID),
        stepId: expr('$json.step_id'),
        stepStatus: 'done',
        note: expr("'n8n-contractor: ' + $json.actions.map(a => a.action_id).join(', ')"),
      }),
    );
    b.connect(route, undo, contractors.indexOf(N8N));
    b.chain(undo, markN8n, each);
  }
  b.connect(route, markFailed, contractors.length);
  b.connect(markDone, each);
  b.connect(markFailed, each);

  const result = b.add(handoff('Rollback Result', 'cortexN8n', { resource: 'workflowRun', operation: 'getRollbackPlan', runId: expr(RUN_ID) }, { executeOnce: true }));
  const failed = b.add(
    stopAndError(
      'Run Failed',
      tmpl(`Run {{ ${RUN_ID} }} of ${definition.workflow_id} failed: {{ $('Get Run').first().json.error?.code }} ({{ $('Get Run').first().json.error?.message }}); rollback {{ $json.status ?? 'not planned' }}`),
    ),
  );
  b.connect(each, result, 0);
  b.connect(result, failed);
  b.connect(plan, failed, 1);
  b.connect(anySteps, failed, 1);
}

/** The contractors of the phases the rollback procedure names (or of every phase). */
function rollbackContractors(definition: Definition): string[] {
  const names = definition.rollback_procedure?.phases ?? definition.phases.map((p) => p.phase_id);
  return names.map((name) => {
    const phase =
      definition.phases.find((p) => p.phase_id === name) ?? definition.phases.find((p) => `${p.phase_id}-rollback` === name);
    if (!phase) throw new Error(`${definition.workflow_id}: rollback names unknown phase ${name}`);
    return phase.contractor;
  });
}

// ------------------------------------------------------------------ trigger helpers

/**
 * The manual trigger every seed workflow has: POST /webhook/cortex/<workflow_id> {parameters} (the dispatcher forwards
 * /webhook/workflow-trigger here). `givenCode`: the parameters as given, an expression (default: the body's parameters).
 */
export function manualTrigger(
  b: WorkflowBuilder,
  workflowId: string,
  webhookNode: (name: string, path: string) => NodeSpec,
  givenCode = '$json.body?.parameters ?? {}',
): string {
  const hook = b.add(webhookNode('Manual Trigger', `cortex/${workflowId}`));
  const given = b.add(set('Manual Parameters', [['given', 'object', expr(givenCode)]]));
  b.connect(hook, given);
  return given;
}
