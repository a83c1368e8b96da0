// The shape of a contractor's worker workflow:
//
//   Handoff Trigger (handoff.created for the contractor) → Claim ─error→ Not Claimed (another worker
//   has it, or it was cancelled or timed out) → Task (route = phase_id, or <phase_id>-rollback) →
//   Route (Switch) → the phase's work → Result: <route> → Complete Handoff
//
// Every step's failure goes to Fail Handoff (the orchestrator's Wait for Completion then leaves
// on Failed / Timed Out and the run rolls back). Steps run once per item (one VM, one node), so
// lists are split into items first and aggregated again after.

import { WorkflowBuilder, type NodeSpec, type WorkflowMeta } from './builder.ts';
import { aggregate, expr, handoff, handoffTrigger, ifTrue, noOp, onErrorOutput, set, splitOut, sticky, stopAndError, switchOn } from './nodes.ts';

export const T = "$('Task').first().json";
export const P = `${T}.parameters`;
export const H = `${T}.handoff`;
export const O = `${T}.output`;

type As = 'cortexInfrastructure' | 'cortexTalos';

export class Worker {
  readonly b: WorkflowBuilder;
  private readonly routes: string[];
  private readonly route: string;
  private readonly as: As;
  readonly complete: string;
  readonly fail: string;

  constructor(meta: WorkflowMeta, contractor: string, as: As, routes: string[], note: string) {
    this.b = new WorkflowBuilder(meta);
    this.routes = routes;
    this.as = as;
    const b = this.b;
    b.add(sticky('Note', note, 640, 460), [-40, -560]);
    const trigger = b.add(handoffTrigger(`Handoff for ${contractor}`, contractor, as));
    const claim = b.add(handoff('Claim', as, { resource: 'handoff', operation: 'claim', handoffId: expr('$json.handoff_id') }, onErrorOutput));
    const notClaimed = b.add(noOp('Not Claimed', 'Claimed by another worker, cancelled or timed out: nothing to do'));
    const task = b.add(
      set('Task', [
        ['handoff_id', 'string', expr('$json.handoff_id')],
        ['run_id', 'string', expr('$json.run_id')],
        ['phase_id', 'string', expr('$json.phase_id ?? $json.data?.phase_id')],
        ['route', 'string', expr("($json.phase_id ?? $json.data?.phase_id) + ($json.data?.mode === 'rollback' ? '-rollback' : '')")],
        ['parameters', 'object', expr('$json.data?.parameters ?? {}')],
        ['handoff', 'object', expr('$json.data?.handoff ?? {}')],
        ['output', 'object', expr('$json.data?.output ?? {}')],
      ]),
    );
    this.route = b.add(switchOn('Route', '$json.route', routes, 'Unknown Task'));
    b.chain(trigger, claim, task, this.route);
    b.connect(claim, notClaimed, 1);

    this.complete = b.add(
      handoff('Complete Handoff', as, { resource: 'handoff', operation: 'complete', handoffId: expr(`${T}.handoff_id`), result: expr('JSON.stringify($json.result ?? {})') }, onErrorOutput),
    );
    const notCompleted = b.add(stopAndError('Handoff Not Completed', `={{ 'Could not complete handoff ' + ${T}.handoff_id + ': ' + $json.error }}`));
    b.connect(this.complete, notCompleted, 1);
    this.fail = b.add(
      handoff(
        'Fail Handoff',
        as,
        {
          resource: 'handoff',
          operation: 'fail',
          handoffId: expr(`${T}.handoff_id`),
          errorCode: expr(`$json.error_code ?? (${T}.route + '_failed').replace(/[^a-z0-9_.-]/gi, '_')`),
          errorMessage: expr("$json.error_message ?? (typeof $json.error === 'string' ? $json.error : JSON.stringify($json.error ?? 'failed'))"),
        },
        { executeOnce: true, onError: 'continueRegularOutput' },
      ),
    );
    const unknown = b.add(
      set('Unknown Task', [
        ['error_code', 'string', 'unknown_task'],
        ['error_message', 'string', expr(`'${contractor} has no work for "' + $json.route + '" in this workflow'`)],
      ]),
    );
    b.connect(this.route, unknown, routes.length);
    b.connect(unknown, this.fail);
  }

  /** The first node of a route (connected to the route's Switch output); returns the node to go on from. */
  start(route: string, spec: NodeSpec): string {
    const index = this.routes.indexOf(route);
    if (index < 0) throw new Error(`unknown route ${route}`);
    const [first, last] = this.add(spec);
    this.b.connect(this.route, first, index);
    return last;
  }

  /**
   * Adds a node with its error output (if any) connected to Fail Handoff. The Proxmox and Talos
   * nodes' continue-on-fail items carry more than `error` (a description, the HTTP code, the task's
   * log), and n8n moves an item to the error output only when `error`, `message` and `details` are
   * its only fields: such items would leave on the success output. So those nodes get an `<name> OK?`
   * guard that sends items with an `error` to Fail Handoff. Returns [the node, the node to go on from].
   */
  add(spec: NodeSpec): [string, string] {
    const name = this.b.add(spec);
    if (spec.onError !== 'continueErrorOutput') return [name, name];
    this.b.connect(name, this.fail, this.outputs(spec));
    if (spec.type !== 'n8n-nodes-cortex.proxmox' && spec.type !== 'n8n-nodes-cortex.talos') return [name, name];
    const guard = this.b.add(ifTrue(`${name} OK?`, '$json.error === undefined'));
    this.b.connect(name, guard);
    this.b.connect(guard, this.fail, 1);
    return [name, guard];
  }

  /** Connects a route's Switch output to an existing node. */
  startAt(route: string, name: string): void {
    this.b.connect(this.route, name, this.routes.indexOf(route));
  }

  /** Adds nodes in a chain after `from`; nodes with an error output have it connected to Fail Handoff. */
  then(from: string, ...specs: NodeSpec[]): string {
    let previous = from;
    for (const spec of specs) {
      const [first, last] = this.add(spec);
      this.b.connect(previous, first);
      previous = last;
    }
    return previous;
  }

  /** The handoff's result: a Set node `Result: <route>` with `result` (expression code of an object) → Complete Handoff. */
  result(from: string, route: string, objectCode: string, fromOutput = 0): string {
    const name = this.b.add(set(`Result: ${route}`, [['result', 'object', expr(objectCode)]], { executeOnce: true }));
    this.b.connect(from, name, fromOutput);
    this.b.connect(name, this.complete);
    return name;
  }

  /** A check: true goes on (returned name, output 0); false fails the handoff with the code and message. */
  check(from: string, name: string, condition: string, code: string, messageCode: string): string {
    const node = this.b.add(ifTrue(name, condition));
    this.b.connect(from, node);
    const failure = this.b.add(
      set(`${name.replace(/\?$/, '')}: No`, [
        ['error_code', 'string', code],
        ['error_message', 'string', expr(messageCode)],
      ]),
    );
    this.b.connect(node, failure, 1);
    this.b.connect(failure, this.fail);
    return node;
  }

  /** Split a list (expression code of an array of objects) into items: a Set node then Split Out. */
  items(from: string, name: string, listCode: string, extra: Partial<NodeSpec> = {}): string {
    const list = this.then(from, { ...set(name, [['items', 'array', expr(listCode)]]), ...extra });
    return this.then(list, splitOut(`Split: ${name}`, 'items'));
  }

  /** Items back into one (`into`). */
  collect(from: string, name: string, into: string): string {
    return this.then(from, aggregate(name, into));
  }

  private outputs(spec: NodeSpec): number {
    if (spec.type === 'n8n-nodes-base.if') return 2;
    return 1;
  }

  get contractorCredential(): As {
    return this.as;
  }
}
