import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFINITIONS_DIR,
  DEFINITION_SCHEMA,
  DEFINITION_SCHEMA_PATH,
  parseDurationString,
  phaseTimeoutSeconds,
  resolveRollbackEntry,
  validateDefinition,
} from '../../service/src/domain/definitions.ts';
import type { DefinitionError } from '../../service/src/domain/definitions.ts';
import type { DefinitionPhase, WorkflowDefinition } from '../../service/src/domain/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const templatesDir = resolve(here, '../../templates/definitions');

const SHIPPED = [
  'app-deployment-pipeline.json',
  'build-k8s-cluster.json',
  'deploy-monitoring-stack.json',
  'dr-failover.json',
  'security-incident-response.json',
];

function loadTemplate(file: string): WorkflowDefinition {
  return JSON.parse(readFileSync(join(templatesDir, file), 'utf8')) as WorkflowDefinition;
}

// Cases reach deep into the document to break one thing, so it is loosely typed on purpose.
type Doc = Record<string, any>;

/** A small valid definition in the seed's shape; every case below breaks one thing in a fresh copy. */
function base(): Doc {
  return {
    workflow_id: 'unique-workflow-id',
    workflow_name: 'Descriptive Name',
    description: 'What this workflow accomplishes',
    version: '1.0.0',
    contractors: ['infrastructure-contractor', 'talos-contractor', 'n8n-contractor'],
    estimated_duration: '30m',
    phases: [
      {
        phase_id: 'phase-1',
        phase_name: 'Preparation',
        contractor: 'infrastructure-contractor',
        actions: [
          { action_id: 'action-1-1', action: 'clone_vm', parameters: { count: 1 }, timeout: 600, on_error: 'rollback' },
        ],
        handoff_to: 'talos-contractor',
        handoff_data: ['vm_ids', 'node_ips'],
        rollback: [{ action_id: 'rollback-1-1', action: 'delete_vm', parameters: {}, timeout: 300, on_error: 'continue' }],
      },
      {
        phase_id: 'phase-2',
        phase_name: 'Configuration',
        contractor: 'talos-contractor',
        actions: [{ action_id: 'action-2-1', action: 'apply_configuration', parameters: {}, timeout: 300, on_error: 'fail' }],
        handoff_to: 'n8n-contractor',
      },
      {
        phase_id: 'phase-3',
        contractor: 'n8n-contractor',
        actions: [],
      },
    ],
    rollback_procedure: { phases: ['phase-2-rollback', 'phase-1-rollback'] },
    success_criteria: ['All resources provisioned', 'Health checks passing', 'Notifications sent'],
  };
}

function errorsOf(input: unknown): DefinitionError[] {
  const result = validateDefinition(input);
  assert.equal(result.ok, false, 'expected the definition to be refused');
  return result.ok ? [] : result.errors;
}

describe('shipped templates', () => {
  test('the module finds the schema and templates directory from its own location', () => {
    assert.equal(DEFINITIONS_DIR, templatesDir);
    assert.equal(DEFINITION_SCHEMA_PATH, join(templatesDir, 'workflow-definition.schema.json'));
    assert.equal(DEFINITION_SCHEMA['$id'], 'https://cortex.dev/schemas/workflow-definition.json');
  });

  test('exactly the five seed workflows are shipped', () => {
    const files = readdirSync(templatesDir)
      .filter((f) => f.endsWith('.json') && f !== 'workflow-definition.schema.json')
      .sort();
    assert.deepEqual(files, SHIPPED);
  });

  for (const file of SHIPPED) {
    describe(file, () => {
      const definition = loadTemplate(file);

      test('validates', () => {
        const result = validateDefinition(definition);
        assert.deepEqual(result, { ok: true, definition });
      });

      test('workflow_id matches the file name', () => {
        assert.equal(`${definition.workflow_id}.json`, file);
      });

      test('each handoff goes to the contractor of the next phase, and the last phase hands off to nobody', () => {
        definition.phases.forEach((phase, i) => {
          const next = definition.phases[i + 1];
          assert.equal(phase.handoff_to, next?.contractor, `phase ${phase.phase_id}`);
          if (phase.handoff_to !== undefined) assert.ok((phase.handoff_data ?? []).length > 0, `phase ${phase.phase_id} hands over nothing`);
        });
      });

      test('{{ handoff.x }} placeholders name data the previous phase hands over', () => {
        definition.phases.forEach((phase, i) => {
          const available = new Set(i === 0 ? [] : (definition.phases[i - 1]?.handoff_data ?? []));
          const text = JSON.stringify([phase.actions, phase.rollback ?? []]);
          for (const match of text.matchAll(/\{\{ handoff\.([a-z_]+)/g)) {
            assert.ok(available.has(match[1]!), `phase ${phase.phase_id} uses handoff.${match[1]}`);
          }
        });
      });

      test('rollback_procedure undoes phases in reverse phase order with "<phase_id>-rollback" entries', () => {
        const entries = definition.rollback_procedure?.phases ?? [];
        assert.ok(entries.length > 0);
        const order = definition.phases.map((p) => p.phase_id);
        let last = Infinity;
        for (const entry of entries) {
          assert.match(entry, /-rollback$/);
          const target = resolveRollbackEntry(definition, entry);
          assert.notEqual(target, null);
          const position = order.indexOf(target!);
          assert.ok(position < last, `${entry} is out of reverse order`);
          last = position;
          const phase = definition.phases[position]!;
          assert.ok((phase.rollback ?? []).length > 0, `${entry} names a phase without rollback actions`);
        }
      });

      test('every action has a timeout and on_error, and every phase a deadline', () => {
        for (const phase of definition.phases) {
          for (const action of [...phase.actions, ...(phase.rollback ?? [])]) {
            assert.equal(typeof action.timeout, 'number', action.action_id);
            assert.equal(typeof action.on_error, 'string', action.action_id);
          }
          assert.equal(typeof phaseTimeoutSeconds(phase), 'number', phase.phase_id);
        }
      });

      test('has success criteria and an estimated duration', () => {
        assert.ok((definition.success_criteria ?? []).length >= 3);
        assert.notEqual(parseDurationString(definition.estimated_duration ?? ''), null);
      });
    });
  }

  test('estimated durations follow the seed', () => {
    const expected: Record<string, number> = {
      'deploy-monitoring-stack.json': 45 * 60,
      'build-k8s-cluster.json': 60 * 60,
      'dr-failover.json': 15 * 60,
      'app-deployment-pipeline.json': 20 * 60,
      'security-incident-response.json': 2 * 3600,
    };
    for (const file of SHIPPED) {
      assert.equal(parseDurationString(loadTemplate(file).estimated_duration ?? ''), expected[file], file);
    }
  });

  test('contractor order follows the seed', () => {
    const order = (file: string) => loadTemplate(file).contractors;
    assert.deepEqual(order('deploy-monitoring-stack.json'), ['infrastructure-contractor', 'talos-contractor', 'n8n-contractor']);
    assert.deepEqual(order('build-k8s-cluster.json'), ['infrastructure-contractor', 'talos-contractor', 'n8n-contractor']);
    assert.deepEqual(order('dr-failover.json'), ['infrastructure-contractor', 'talos-contractor', 'n8n-contractor']);
    assert.deepEqual(order('app-deployment-pipeline.json'), ['n8n-contractor', 'talos-contractor', 'infrastructure-contractor']);
    assert.deepEqual(order('security-incident-response.json'), [
      'n8n-contractor',
      'security-master',
      'talos-contractor',
      'infrastructure-contractor',
    ]);
  });

  test('the pipeline, DR failover and incident response ask for approval with a satisfiable quorum', () => {
    for (const file of ['app-deployment-pipeline.json', 'dr-failover.json', 'security-incident-response.json']) {
      const approvals = loadTemplate(file)
        .phases.flatMap((p) => p.actions)
        .filter((a) => a.action === 'request_approval');
      assert.ok(approvals.length > 0, file);
      for (const approval of approvals) {
        const required = approval.parameters?.['required_approvals'];
        const approvers = approval.parameters?.['approvers'];
        assert.ok(Number.isInteger(required) && (required as number) >= 1, `${file} ${approval.action_id}`);
        assert.ok(Array.isArray(approvers) && approvers.length >= (required as number), `${file} ${approval.action_id}`);
      }
    }
  });

  test('Proxmox actions belong to the infrastructure contractor and Talos actions to the talos contractor', () => {
    const proxmox = new Set(['clone_vm', 'configure_cloud_init', 'start_vm', 'stop_vm', 'delete_vm', 'wait_task', 'snapshot_vm', 'rollback_snapshot']);
    const talos = new Set(['apply_configuration', 'bootstrap', 'wait_cluster_health', 'get_kubeconfig', 'helm_release', 'etcd_snapshot', 'reset_node']);
    let seenProxmox = 0;
    let seenTalos = 0;
    for (const file of SHIPPED) {
      for (const phase of loadTemplate(file).phases) {
        for (const action of [...phase.actions, ...(phase.rollback ?? [])]) {
          if (proxmox.has(action.action)) {
            seenProxmox++;
            assert.equal(phase.contractor, 'infrastructure-contractor', `${file} ${action.action_id}`);
          }
          if (talos.has(action.action)) {
            seenTalos++;
            assert.equal(phase.contractor, 'talos-contractor', `${file} ${action.action_id}`);
          }
        }
      }
    }
    assert.ok(seenProxmox > 10 && seenTalos > 10);
  });
});

describe('schema file', () => {
  test('every property and every $defs entry has a description', () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (node === null || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        node.forEach((item, i) => walk(item, `${path}/${i}`));
        return;
      }
      const record = node as Record<string, unknown>;
      for (const key of ['properties', '$defs', 'patternProperties']) {
        const group = record[key];
        if (group === null || typeof group !== 'object') continue;
        for (const [name, schema] of Object.entries(group as Record<string, unknown>)) {
          if (typeof (schema as Record<string, unknown>)['description'] !== 'string') missing.push(`${path}/${key}/${name}`);
        }
      }
      for (const [key, value] of Object.entries(record)) walk(value, `${path}/${key}`);
    };
    walk(DEFINITION_SCHEMA, '');
    assert.deepEqual(missing, []);
  });
});

describe('validateDefinition', () => {
  test('accepts the base definition and returns it', () => {
    const input = base();
    assert.deepEqual(validateDefinition(input), { ok: true, definition: input });
  });

  test('accepts the optional fields being absent, x- extensions, pre-release versions and an exact phase_id rollback entry', () => {
    const input = base();
    delete input.description;
    delete input.estimated_duration;
    delete input.success_criteria;
    delete input.phases[0].actions[0].parameters;
    delete input.phases[0].actions[0].on_error;
    input['x-owner'] = { team: 'platform' };
    input.version = '2.1.0-rc.1+build.7';
    input.rollback_procedure.phases = ['phase-2', 'phase-1-rollback'];
    assert.equal(validateDefinition(input).ok, true);
    delete input.rollback_procedure;
    assert.equal(validateDefinition(input).ok, true);
  });

  const cases: { name: string; mutate: (d: Doc) => unknown; errors: DefinitionError[] }[] = [
    {
      name: 'not an object',
      mutate: () => null,
      errors: [{ path: '', message: 'must be object' }],
    },
    {
      name: 'missing top-level field',
      mutate: (d) => {
        delete d.workflow_name;
      },
      errors: [{ path: '/workflow_name', message: 'missing required field "workflow_name"' }],
    },
    {
      name: 'missing action field',
      mutate: (d) => {
        delete d.phases[1].actions[0].action;
      },
      errors: [{ path: '/phases/1/actions/0/action', message: 'missing required field "action"' }],
    },
    {
      name: 'timeout of the wrong type',
      mutate: (d) => {
        d.phases[1].actions[0].timeout = '300';
      },
      errors: [{ path: '/phases/1/actions/0/timeout', message: 'must be integer' }],
    },
    {
      name: 'fractional timeout',
      mutate: (d) => {
        d.phases[0].actions[0].timeout = 1.5;
      },
      errors: [{ path: '/phases/0/actions/0/timeout', message: 'must be integer' }],
    },
    {
      name: 'timeout 0',
      mutate: (d) => {
        d.phases[0].actions[0].timeout = 0;
      },
      errors: [{ path: '/phases/0/actions/0/timeout', message: 'must be >= 1' }],
    },
    {
      name: 'timeout over a day',
      mutate: (d) => {
        d.phases[0].timeout = 86401;
      },
      errors: [{ path: '/phases/0/timeout', message: 'must be <= 86400' }],
    },
    {
      name: 'parameters not an object',
      mutate: (d) => {
        d.phases[0].actions[0].parameters = ['count', 1];
      },
      errors: [{ path: '/phases/0/actions/0/parameters', message: 'must be object' }],
    },
    {
      name: 'unknown field in an action',
      mutate: (d) => {
        d.phases[1].actions[0].timout = 300;
      },
      errors: [{ path: '/phases/1/actions/0/timout', message: 'unknown field "timout"' }],
    },
    {
      name: 'unknown field in a rollback action',
      mutate: (d) => {
        d.phases[0].rollback[0].onerror = 'fail';
      },
      errors: [{ path: '/phases/0/rollback/0/onerror', message: 'unknown field "onerror"' }],
    },
    {
      name: 'unknown field in a phase',
      mutate: (d) => {
        d.phases[0].handoff = 'talos-contractor';
      },
      errors: [{ path: '/phases/0/handoff', message: 'unknown field "handoff"' }],
    },
    {
      name: 'unknown field in rollback_procedure',
      mutate: (d) => {
        d.rollback_procedure.order = 'reverse';
      },
      errors: [{ path: '/rollback_procedure/order', message: 'unknown field "order"' }],
    },
    {
      name: 'unknown top-level field without x- prefix',
      mutate: (d) => {
        d.owner = 'platform';
      },
      errors: [{ path: '/owner', message: 'unknown field "owner" (extension fields must start with "x-")' }],
    },
    {
      name: 'unknown field name needing JSON pointer escapes',
      mutate: (d) => {
        d.phases[2]['a/b~c'] = 1;
      },
      errors: [{ path: '/phases/2/a~1b~0c', message: 'unknown field "a/b~c"' }],
    },
    {
      name: 'version without a patch number',
      mutate: (d) => {
        d.version = '1.0';
      },
      errors: [{ path: '/version', message: 'must be a semantic version such as 1.0.0' }],
    },
    {
      name: 'version with a leading zero',
      mutate: (d) => {
        d.version = '01.0.0';
      },
      errors: [{ path: '/version', message: 'must be a semantic version such as 1.0.0' }],
    },
    {
      name: 'workflow_id with uppercase letters',
      mutate: (d) => {
        d.workflow_id = 'Deploy_Stack';
      },
      errors: [{ path: '/workflow_id', message: 'must be a slug: lowercase letters, digits and dashes, starting with a letter or digit' }],
    },
    {
      name: 'workflow_id longer than 100 characters',
      mutate: (d) => {
        d.workflow_id = 'a'.repeat(101);
      },
      errors: [{ path: '/workflow_id', message: 'must be at most 100 characters' }],
    },
    {
      name: 'action that is not snake_case',
      mutate: (d) => {
        d.phases[0].actions[0].action = 'cloneVM';
      },
      errors: [{ path: '/phases/0/actions/0/action', message: 'must be a snake_case verb such as clone_vm' }],
    },
    {
      name: 'unknown on_error',
      mutate: (d) => {
        d.phases[0].actions[0].on_error = 'retry';
      },
      errors: [{ path: '/phases/0/actions/0/on_error', message: 'must be one of "rollback", "fail", "continue"' }],
    },
    {
      name: 'estimated_duration in words',
      mutate: (d) => {
        d.estimated_duration = '30 minutes';
      },
      errors: [{ path: '/estimated_duration', message: 'must be a duration such as 45s, 30m, 2h or 1h30m' }],
    },
    {
      name: 'no phases',
      mutate: (d) => {
        d.phases = [];
        delete d.rollback_procedure;
      },
      errors: [{ path: '/phases', message: 'must not be empty' }],
    },
    {
      name: 'no contractors',
      mutate: (d) => {
        d.contractors = [];
        d.phases = [{ phase_id: 'only', contractor: 'n8n-contractor', actions: [] }];
        delete d.rollback_procedure;
      },
      errors: [
        { path: '/contractors', message: 'must not be empty' },
        { path: '/phases/0/contractor', message: 'contractor "n8n-contractor" is not listed in contractors' },
      ],
    },
    {
      name: 'repeated contractor',
      mutate: (d) => {
        d.contractors.push('talos-contractor');
      },
      errors: [{ path: '/contractors', message: 'must not repeat "talos-contractor" (items 1 and 3)' }],
    },
    {
      name: 'duplicate phase_id',
      mutate: (d) => {
        d.phases[2].phase_id = 'phase-1';
      },
      errors: [{ path: '/phases/2/phase_id', message: 'duplicate phase_id "phase-1" (first used at /phases/0/phase_id)' }],
    },
    {
      name: 'duplicate action_id across phases',
      mutate: (d) => {
        d.phases[1].actions[0].action_id = 'action-1-1';
      },
      errors: [{ path: '/phases/1/actions/0/action_id', message: 'duplicate action_id "action-1-1" (first used at /phases/0/actions/0/action_id)' }],
    },
    {
      name: 'rollback action reusing a forward action_id',
      mutate: (d) => {
        d.phases[0].rollback[0].action_id = 'action-1-1';
      },
      errors: [{ path: '/phases/0/rollback/0/action_id', message: 'duplicate action_id "action-1-1" (first used at /phases/0/actions/0/action_id)' }],
    },
    {
      name: 'phase contractor not listed',
      mutate: (d) => {
        d.phases[1].contractor = 'security-master';
      },
      errors: [{ path: '/phases/1/contractor', message: 'contractor "security-master" is not listed in contractors' }],
    },
    {
      name: 'handoff_to not listed',
      mutate: (d) => {
        d.phases[0].handoff_to = 'talos-contracter';
      },
      errors: [{ path: '/phases/0/handoff_to', message: 'contractor "talos-contracter" is not listed in contractors' }],
    },
    {
      name: 'rollback entry naming no phase',
      mutate: (d) => {
        d.rollback_procedure.phases = ['phase-2-rollback', 'phase-9-rollback'];
      },
      errors: [
        { path: '/rollback_procedure/phases/1', message: '"phase-9-rollback" names no phase (expected a phase_id or "<phase_id>-rollback")' },
      ],
    },
    {
      name: 'rollback entry with a different suffix',
      mutate: (d) => {
        d.rollback_procedure.phases = ['phase-2-undo'];
      },
      errors: [{ path: '/rollback_procedure/phases/0', message: '"phase-2-undo" names no phase (expected a phase_id or "<phase_id>-rollback")' }],
    },
    {
      name: 'phase named twice in the rollback procedure',
      mutate: (d) => {
        d.rollback_procedure.phases = ['phase-2-rollback', 'phase-1-rollback', 'phase-2'];
      },
      errors: [{ path: '/rollback_procedure/phases/2', message: 'phase "phase-2" is already named at /rollback_procedure/phases/0' }],
    },
    {
      name: 'rollback_procedure without phases',
      mutate: (d) => {
        d.rollback_procedure = {};
      },
      errors: [{ path: '/rollback_procedure/phases', message: 'missing required field "phases"' }],
    },
  ];

  for (const c of cases) {
    test(`refuses: ${c.name}`, () => {
      const input = base();
      const replaced = c.mutate(input);
      assert.deepEqual(errorsOf(replaced === undefined ? input : replaced), c.errors);
    });
  }

  test('reports every problem at once, schema problems first', () => {
    const input = base();
    input.version = 'v1';
    input.phases[0].actions[0].timeout = 0;
    input.phases[1].contractor = 'nobody';
    input.rollback_procedure.phases.push('ghost');
    assert.deepEqual(errorsOf(input), [
      { path: '/version', message: 'must be a semantic version such as 1.0.0' },
      { path: '/phases/0/actions/0/timeout', message: 'must be >= 1' },
      { path: '/phases/1/contractor', message: 'contractor "nobody" is not listed in contractors' },
      { path: '/rollback_procedure/phases/2', message: '"ghost" names no phase (expected a phase_id or "<phase_id>-rollback")' },
    ]);
  });

  test('semantic checks survive structurally broken input', () => {
    const input = base();
    input.phases[1] = 'not a phase';
    input.phases[2].actions = 'nope';
    input.rollback_procedure.phases = [7, 'phase-2-rollback'];
    assert.deepEqual(errorsOf(input), [
      { path: '/phases/1', message: 'must be object' },
      { path: '/phases/2/actions', message: 'must be array' },
      { path: '/rollback_procedure/phases/0', message: 'must be string' },
      { path: '/rollback_procedure/phases/1', message: '"phase-2-rollback" names no phase (expected a phase_id or "<phase_id>-rollback")' },
    ]);
  });
});

describe('resolveRollbackEntry', () => {
  const definition = base() as WorkflowDefinition;

  test('resolves "<phase_id>-rollback" and an exact phase_id', () => {
    assert.equal(resolveRollbackEntry(definition, 'phase-2-rollback'), 'phase-2');
    assert.equal(resolveRollbackEntry(definition, 'phase-1'), 'phase-1');
  });

  test('returns null for entries naming no phase', () => {
    assert.equal(resolveRollbackEntry(definition, 'phase-4-rollback'), null);
    assert.equal(resolveRollbackEntry(definition, '-rollback'), null);
    assert.equal(resolveRollbackEntry(definition, 'phase-1-rollback-rollback'), null);
    assert.equal(resolveRollbackEntry(definition, ''), null);
  });

  test('an exact phase_id wins over the suffix rule', () => {
    const d = base();
    d.phases[2].phase_id = 'phase-1-rollback';
    assert.equal(resolveRollbackEntry(d as WorkflowDefinition, 'phase-1-rollback'), 'phase-1-rollback');
    assert.equal(resolveRollbackEntry(d as WorkflowDefinition, 'phase-1-rollback-rollback'), 'phase-1-rollback');
  });
});

describe('phaseTimeoutSeconds', () => {
  const action = (id: string, timeout?: number) => (timeout === undefined ? { action_id: id, action: 'noop' } : { action_id: id, action: 'noop', timeout });
  const phase = (actions: ReturnType<typeof action>[], timeout?: number): DefinitionPhase => ({
    phase_id: 'p',
    contractor: 'c',
    actions,
    ...(timeout === undefined ? {} : { timeout }),
  });

  test("the phase's own timeout wins", () => {
    assert.equal(phaseTimeoutSeconds(phase([action('a', 100), action('b', 200)], 50)), 50);
    assert.equal(phaseTimeoutSeconds(phase([action('a')], 900)), 900);
    assert.equal(phaseTimeoutSeconds(phase([], 60)), 60);
  });

  test("otherwise the sum of the actions' timeouts", () => {
    assert.equal(phaseTimeoutSeconds(phase([action('a', 100), action('b', 200), action('c', 5)])), 305);
    assert.equal(phaseTimeoutSeconds(phase([action('a', 7)])), 7);
  });

  test('null when an action has no timeout, or there are no actions', () => {
    assert.equal(phaseTimeoutSeconds(phase([action('a', 100), action('b')])), null);
    assert.equal(phaseTimeoutSeconds(phase([])), null);
  });
});

describe('parseDurationString', () => {
  const good: [string, number][] = [
    ['1h30m', 5400],
    ['45s', 45],
    ['30m', 1800],
    ['2h', 7200],
    ['1h0m5s', 3605],
    ['90m', 5400],
    ['0s', 0],
  ];
  const bad = ['', '30', '1m1h', '1h 30m', '1d', '-5m', '1.5h', 'h', '30M', ' 30m'];

  test('parses hours, minutes and seconds', () => {
    for (const [text, seconds] of good) assert.equal(parseDurationString(text), seconds, text);
  });

  test('refuses anything else', () => {
    for (const text of bad) assert.equal(parseDurationString(text), null, JSON.stringify(text));
  });

  test('agrees with the schema on what a duration is', () => {
    for (const text of [...good.map(([t]) => t), ...bad]) {
      const d = base();
      d.estimated_duration = text;
      assert.equal(validateDefinition(d).ok, parseDurationString(text) !== null, JSON.stringify(text));
    }
  });
});
