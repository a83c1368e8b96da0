// The importable n8n workflow templates (templates/n8n/*.json), checked without running n8n:
//
// - each file is the generator's output (templates/n8n/src) and valid JSON in n8n's export shape;
// - every node type is ours (its parameters are checked against our node's description, with
//   displayOptions, option values, resource locator modes and required fields, as n8n's own
//   NodeHelpers read them) or n8n-nodes-base at a typeVersion of the installed n8n 2.41.1 (checked
//   the same way against that version's description when n8n is installed; only that is skipped
//   when it is not);
// - connections name existing nodes and existing outputs (Wait for Completion: 0 and 1; Approval
//   Gate: 0..2; Switch: its rules and fallback; +1 with an error output);
// - expressions compile with n8n's expression parser and name existing nodes;
// - each seed workflow's template starts a run of its definition's workflow_id and reports every
//   phase; the workers serve every phase of their contractor (and its rollback);
// - no secrets.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { INode, INodeProperties, INodeType, INodeTypeDescription, IConnections } from 'n8n-workflow';
import { templates, render, TEMPLATE_DIR, type Template } from '../../templates/n8n/src/generate.ts';
import { loadDefinition, type Definition } from '../../templates/n8n/src/orchestration.ts';

const wf = createRequire(import.meta.url)('n8n-workflow') as typeof import('n8n-workflow');
const { NodeHelpers } = wf;
const { Tournament } = createRequire(createRequire(import.meta.url).resolve('n8n-workflow'))('@n8n/tournament') as {
  Tournament: new (onError: (error: Error) => void) => { getExpressionCode(expression: string): [string, unknown] };
};

const { Handoff } = await import('../../nodes/Handoff/Handoff.node.ts');
const { HandoffTrigger } = await import('../../nodes/HandoffTrigger/HandoffTrigger.node.ts');
const { Proxmox } = await import('../../nodes/Proxmox/Proxmox.node.ts');
const { Talos } = await import('../../nodes/Talos/Talos.node.ts');
const { ApprovalGate } = await import('../../nodes/ApprovalGate/ApprovalGate.node.ts');

const OURS = new Map<string, INodeType>(
  [new Handoff(), new HandoffTrigger(), new Proxmox(), new Talos(), new ApprovalGate()].map((node: INodeType) => [`n8n-nodes-cortex.${node.description.name}`, node]),
);

/** The n8n-nodes-base types the templates may use (the rest of the base checks need installed n8n). */
const BASE_TYPES = new Set([
  'webhook', 'scheduleTrigger', 'if', 'switch', 'set', 'respondToWebhook', 'noOp', 'stopAndError', 'merge', 'splitOut', 'aggregate',
  'httpRequest', 'readWriteFile', 'splitInBatches', 'wait', 'crypto', 'stickyNote', 'manualTrigger',
].map((name) => `n8n-nodes-base.${name}`));
const TRIGGER_TYPES = new Set(['n8n-nodes-base.webhook', 'n8n-nodes-base.scheduleTrigger', 'n8n-nodes-base.manualTrigger', 'n8n-nodes-cortex.handoffTrigger']);

const SEED_FILES: Record<string, string> = {
  'deploy-monitoring-stack': 'deploy-monitoring-stack.json',
  'build-k8s-cluster': 'build-k8s-cluster.json',
  'dr-failover': 'dr-failover.json',
  'app-deployment-pipeline': 'app-deployment-pipeline.json',
  'security-incident-response': 'security-incident-response.json',
};

// ------------------------------------------------------------------ installed n8n (optional)

/** scripts/install-n8n.sh's folder, when it has finished an install there. */
function n8nHome(): string | undefined {
  const version = process.env.CORTEX_N8N_VERSION ?? '2.41.1';
  const home = process.env.CORTEX_N8N_HOME ?? join(homedir(), '.cache', 'cortex', `n8n-${version}`);
  return existsSync(join(home, '.installed')) && existsSync(join(home, 'node_modules', 'n8n-nodes-base', 'package.json')) ? home : undefined;
}

const N8N_HOME = n8nHome();
const NO_N8N = N8N_HOME
  ? false
  : 'n8n is not installed (bash scripts/install-n8n.sh, or CORTEX_N8N_HOME): n8n-nodes-base typeVersions and parameters are not checked';

interface BaseType {
  versions: number[];
  load(version: number): INodeTypeDescription;
}

/** n8n-nodes-base node types by name, from the codex files next to each node (loaded on use). */
function baseTypes(home: string): Map<string, BaseType> {
  const dir = join(home, 'node_modules', 'n8n-nodes-base', 'dist', 'nodes');
  const load = createRequire(join(home, 'node_modules', 'n8n-nodes-base', 'package.json'));
  const out = new Map<string, BaseType>();
  for (const file of readdirSync(dir, { recursive: true }) as string[]) {
    if (!file.endsWith('.node.json')) continue;
    const codex = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { node?: string };
    const script = join(dir, file.replace(/\.json$/, '.js'));
    if (!codex.node?.startsWith('n8n-nodes-base.') || !existsSync(script) || !BASE_TYPES.has(codex.node)) continue;
    let instance: any;
    const get = () => {
      if (!instance) {
        const module = load(script) as Record<string, new () => any>;
        const Class = Object.values(module).find((value) => typeof value === 'function' && new value().description?.name === codex.node!.split('.')[1]);
        if (!Class) throw new Error(`no node class in ${script}`);
        instance = new Class();
      }
      return instance;
    };
    out.set(codex.node, {
      get versions() {
        const node = get();
        if (node.nodeVersions) return Object.keys(node.nodeVersions).map(Number);
        const version = node.description.version;
        return Array.isArray(version) ? version : [version];
      },
      load(version: number) {
        const node = get();
        return (node.nodeVersions ? node.nodeVersions[version].description : node.description) as INodeTypeDescription;
      },
    });
  }
  return out;
}

const BASE = N8N_HOME ? baseTypes(N8N_HOME) : new Map<string, BaseType>();

// ------------------------------------------------------------------ the files

interface NodeJson extends INode {
  onError?: INode['onError'];
}
interface WorkflowFile {
  id?: string;
  name: string;
  nodes: NodeJson[];
  connections: IConnections;
  settings: Record<string, unknown>;
  pinData: Record<string, unknown>;
  active: boolean;
}

const generated = templates();
const files = readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith('.json')).sort();
const loaded = new Map<string, { text: string; json: WorkflowFile }>(
  files.map((file) => {
    const text = readFileSync(join(TEMPLATE_DIR, file), 'utf8');
    return [file, { text, json: JSON.parse(text) as WorkflowFile }];
  }),
);

function descriptionOf(node: NodeJson): INodeTypeDescription | undefined {
  const ours = OURS.get(node.type);
  if (ours) return ours.description;
  return BASE.get(node.type)?.load(node.typeVersion);
}

// ------------------------------------------------------------------ parameter checks

const isExpression = (value: unknown): boolean => typeof value === 'string' && value.startsWith('=');

/** Problems of a node's parameters against its type's description, read the way n8n reads them. */
function parameterProblems(original: NodeJson, description: INodeTypeDescription): string[] {
  const problems: string[] = [];
  const properties = description.properties;
  // n8n's helpers fill in defaults in place: give them a copy.
  const node = structuredClone(original);
  const resolved = NodeHelpers.getNodeParameters(properties, node.parameters, true, false, node, description) ?? {};
  for (const key of Object.keys(node.parameters)) {
    if (!(key in resolved)) problems.push(`parameter "${key}" does not exist or is not shown for these settings`);
  }
  for (const property of properties) {
    if (!(property.name in node.parameters)) continue;
    if (!NodeHelpers.displayParameter(resolved, property, node, description)) continue;
    problems.push(...valueProblems(property, node.parameters[property.name], property.name));
  }
  const issues = NodeHelpers.getNodeParametersIssues(properties, { ...node, parameters: resolved }, description);
  if (issues) problems.push(...NodeHelpers.nodeIssuesToString(issues, node));
  return problems;
}

/** A value against its property: option values, collection keys, resource locator modes. */
function valueProblems(property: INodeProperties, value: unknown, path: string): string[] {
  if (isExpression(value) || value === undefined) return [];
  const problems: string[] = [];
  const staticOptions = Array.isArray(property.options) && !property.typeOptions?.loadOptionsMethod ? property.options : undefined;
  if (property.type === 'options' && staticOptions) {
    const values = staticOptions.map((o) => ('value' in o ? o.value : undefined));
    if (!values.includes(value as never)) problems.push(`${path}: "${String(value)}" is not one of ${values.join(', ')}`);
  }
  if (property.type === 'multiOptions' && staticOptions && Array.isArray(value)) {
    const values = staticOptions.map((o) => ('value' in o ? o.value : undefined));
    for (const entry of value) if (!values.includes(entry as never)) problems.push(`${path}: "${String(entry)}" is not one of ${values.join(', ')}`);
  }
  if (property.type === 'collection' && value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const option = (property.options as INodeProperties[]).find((o) => o.name === key);
      if (!option) problems.push(`${path}.${key} is not an option of ${property.name}`);
      else problems.push(...valueProblems(option, inner, `${path}.${key}`));
    }
  }
  if (property.type === 'fixedCollection' && value && typeof value === 'object') {
    for (const [key, entries] of Object.entries(value)) {
      const group = (property.options as Array<{ name: string; values: INodeProperties[] }>).find((o) => o.name === key);
      if (!group) {
        problems.push(`${path}.${key} is not a group of ${property.name}`);
        continue;
      }
      for (const entry of (Array.isArray(entries) ? entries : [entries]) as Array<Record<string, unknown>>) {
        for (const [field, inner] of Object.entries(entry)) {
          const option = group.values.find((v) => v.name === field);
          if (!option) problems.push(`${path}.${key}.${field} is not a field of ${property.name}`);
          else problems.push(...valueProblems(option, inner, `${path}.${key}.${field}`));
        }
      }
    }
  }
  if (property.type === 'resourceLocator') {
    const locator = value as { __rl?: boolean; mode?: string };
    const modes = (property.modes ?? []).map((m) => m.name);
    if (!locator || locator.__rl !== true || !modes.includes(locator.mode ?? '')) problems.push(`${path}: resource locator with mode one of ${modes.join(', ')}`);
  }
  return problems;
}

/** How many outputs a node has (our rules; cross-checked with n8n's own when it is installed). */
function outputCount(node: NodeJson): number {
  const p = node.parameters as Record<string, any>;
  let count = 1;
  switch (node.type) {
    case 'n8n-nodes-cortex.handoff':
      count = p.resource !== 'workflowRun' && p.resource !== 'metrics' && p.operation === 'waitForCompletion' ? 2 : 1;
      break;
    case 'n8n-nodes-cortex.approvalGate':
      count = 3;
      break;
    case 'n8n-nodes-base.if':
    case 'n8n-nodes-base.splitInBatches':
      count = 2;
      break;
    case 'n8n-nodes-base.switch':
      count = (p.rules?.values?.length ?? 0) + (p.options?.fallbackOutput === 'extra' ? 1 : 0);
      break;
    case 'n8n-nodes-base.stopAndError':
    case 'n8n-nodes-base.stickyNote':
      count = 0;
      break;
    case 'n8n-nodes-base.respondToWebhook':
      count = p.enableResponseOutput ? 2 : 1;
      break;
  }
  return count + (node.onError === 'continueErrorOutput' ? 1 : 0);
}

/** n8n's own output count (NodeHelpers.getNodeOutputs on a Workflow of the template). */
function n8nOutputCount(workflow: InstanceType<typeof wf.Workflow>, node: NodeJson): number | undefined {
  const description = descriptionOf(node);
  if (!description) return undefined;
  return NodeHelpers.getNodeOutputs(workflow, node, description).length;
}

function nodeTypes() {
  const types = {
    getByName: (type: string) => OURS.get(type) ?? (BASE.has(type) ? ({ description: BASE.get(type)!.load(Math.max(...BASE.get(type)!.versions)) } as INodeType) : undefined),
    getByNameAndVersion: (type: string, version?: number) => {
      if (OURS.has(type)) return OURS.get(type);
      const base = BASE.get(type);
      return base ? ({ description: base.load(version ?? Math.max(...base.versions)) } as INodeType) : undefined;
    },
    getKnownTypes: () => ({}),
  };
  return types as unknown as ConstructorParameters<typeof wf.Workflow>[0]['nodeTypes'];
}

// ------------------------------------------------------------------ expressions

const tournament = new Tournament((error) => {
  throw error;
});

function strings(value: unknown, path: string, out: Array<[string, string]>): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
}

function expressionProblems(workflow: WorkflowFile): string[] {
  const problems: string[] = [];
  const names = new Set(workflow.nodes.map((n) => n.name));
  for (const node of workflow.nodes) {
    const found: Array<[string, string]> = [];
    strings(node.parameters, node.name, found);
    for (const [path, text] of found) {
      if (!text.startsWith('=')) {
        if (text.includes('{{') && node.type !== 'n8n-nodes-base.stickyNote') problems.push(`${path}: {{ }} in a fixed value (missing "=")`);
        continue;
      }
      for (const chunk of wf.ExpressionParser.splitExpression(text.slice(1))) {
        if (chunk.type !== 'code') continue;
        if (!chunk.hasClosingBrackets) problems.push(`${path}: {{ without }}`);
        try {
          tournament.getExpressionCode(`{{${chunk.text}}}`);
        } catch (error) {
          problems.push(`${path}: ${(error as Error).message} in {{${chunk.text}}}`);
        }
        if (/\$env\b/.test(chunk.text)) problems.push(`${path}: $env (blocked in n8n 2 by default)`);
        for (const match of chunk.text.matchAll(/\$\(\s*(['"`])(.+?)\1\s*\)|\$node\[\s*(["'])(.+?)\3\s*\]/g)) {
          const referenced = match[2] ?? match[4] ?? '';
          if (!names.has(referenced)) problems.push(`${path}: refers to missing node "${referenced}"`);
        }
      }
    }
  }
  return problems;
}

// ------------------------------------------------------------------ tests

describe('n8n workflow templates', () => {
  it('are the generator\'s output, one file each, nothing else', () => {
    assert.deepEqual(files, generated.map((t) => t.file).sort());
    for (const template of generated) {
      assert.equal(loaded.get(template.file)?.text, render(template), `${template.file} differs from the generator: run node templates/n8n/src/generate.ts`);
    }
  });

  it('are workflow exports: name, nodes, connections, settings (v1 execution order), pinData, inactive', () => {
    for (const [file, { json }] of loaded) {
      assert.equal(typeof json.name, 'string', file);
      assert.ok(Array.isArray(json.nodes) && json.nodes.length > 0, file);
      assert.equal(typeof json.connections, 'object', file);
      assert.equal(json.settings.executionOrder, 'v1', file);
      assert.deepEqual(json.pinData, {}, file);
      assert.equal(json.active, false, file);
      const ids = new Set<string>();
      const names = new Set<string>();
      for (const node of json.nodes) {
        assert.equal(typeof node.id, 'string', `${file}: ${node.name}`);
        assert.ok(!ids.has(node.id), `${file}: duplicate id ${node.id}`);
        assert.ok(!names.has(node.name), `${file}: duplicate name ${node.name}`);
        ids.add(node.id);
        names.add(node.name);
        assert.equal(typeof node.type, 'string');
        assert.equal(typeof node.typeVersion, 'number', `${file}: ${node.name}`);
        assert.ok(Array.isArray(node.position) && node.position.length === 2 && node.position.every((n) => typeof n === 'number'), `${file}: ${node.name} position`);
        assert.equal(typeof node.parameters, 'object');
        for (const [type, ref] of Object.entries(node.credentials ?? {})) {
          assert.deepEqual(Object.keys(ref).sort(), ['id', 'name'], `${file}: ${node.name} credential ${type} is a reference (id, name) only`);
        }
      }
      assert.ok(
        json.nodes.some((n) => TRIGGER_TYPES.has(n.type)),
        `${file}: has a trigger`,
      );
    }
  });

  it('use only our node types and n8n-nodes-base types', () => {
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        assert.ok(OURS.has(node.type) || BASE_TYPES.has(node.type), `${file}: ${node.name} has type ${node.type}`);
      }
    }
  });

  it('set only parameters our nodes have for that resource and operation, with valid values, required ones filled, credentials set', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        const type = OURS.get(node.type);
        if (!type) continue;
        const versions = [type.description.version].flat();
        if (!versions.includes(node.typeVersion)) problems.push(`${file}: ${node.name}: typeVersion ${node.typeVersion} (has ${versions.join(', ')})`);
        problems.push(...parameterProblems(node, type.description).map((p) => `${file}: ${node.name}: ${p}`));
        for (const issue of wf.validateNodeCredentials(node, type)) problems.push(`${file}: ${node.name}: credential ${issue.credentialName} ${issue.type}`);
        const allowed = new Set((type.description.credentials ?? []).map((c) => c.name));
        for (const credential of Object.keys(node.credentials ?? {})) {
          if (!allowed.has(credential)) problems.push(`${file}: ${node.name}: credential type ${credential} is not one of the node's`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('use n8n-nodes-base typeVersions and parameters of the installed n8n 2.41.1', { skip: NO_N8N }, () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        if (OURS.has(node.type)) continue;
        const base = BASE.get(node.type);
        if (!base) {
          problems.push(`${file}: ${node.name}: ${node.type} is not in the installed n8n-nodes-base`);
          continue;
        }
        if (!base.versions.includes(node.typeVersion)) {
          problems.push(`${file}: ${node.name}: ${node.type} has no typeVersion ${node.typeVersion} (has ${base.versions.join(', ')})`);
          continue;
        }
        if (node.type === 'n8n-nodes-base.stickyNote') continue;
        const description = base.load(node.typeVersion);
        problems.push(...parameterProblems(node, description).map((p) => `${file}: ${node.name}: ${p}`));
        const credentialTypes = new Set((description.credentials ?? []).map((c) => c.name));
        const p = node.parameters as Record<string, unknown>;
        for (const dynamic of [p.genericAuthType, p.nodeCredentialType]) if (typeof dynamic === 'string') credentialTypes.add(dynamic);
        if (p.authentication === 'headerAuth') credentialTypes.add('httpHeaderAuth');
        for (const credential of Object.keys(node.credentials ?? {})) {
          if (!credentialTypes.has(credential)) problems.push(`${file}: ${node.name}: credential type ${credential} is not one the node uses`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('connect existing nodes through existing outputs (Wait for Completion: 0 and 1), no node left unconnected, error outputs lead somewhere', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      const byName = new Map(json.nodes.map((n) => [n.name, n]));
      const incoming = new Set<string>();
      for (const [source, types] of Object.entries(json.connections)) {
        const node = byName.get(source);
        if (!node) {
          problems.push(`${file}: connection from missing node "${source}"`);
          continue;
        }
        for (const [type, outputs] of Object.entries(types)) {
          if (type !== 'main') problems.push(`${file}: ${source}: connection type ${type}`);
          const count = outputCount(node);
          (outputs ?? []).forEach((targets, index) => {
            if ((targets ?? []).length && index >= count) problems.push(`${file}: ${source}: output ${index} (it has ${count})`);
            for (const target of targets ?? []) {
              if (!byName.has(target.node)) problems.push(`${file}: ${source} → missing node "${target.node}"`);
              if (target.type !== 'main' || target.index !== 0) problems.push(`${file}: ${source} → ${target.node}: input ${target.type}/${target.index}`);
              incoming.add(target.node);
            }
          });
        }
      }
      for (const node of json.nodes) {
        if (TRIGGER_TYPES.has(node.type) || node.type === 'n8n-nodes-base.stickyNote') continue;
        if (!incoming.has(node.name)) problems.push(`${file}: ${node.name} has no incoming connection`);
      }
      for (const node of json.nodes.filter((n) => n.onError === 'continueErrorOutput')) {
        const errorOutput = (json.connections[node.name]?.main ?? [])[outputCount(node) - 1];
        if (!errorOutput?.length) problems.push(`${file}: ${node.name}: its error output leads nowhere`);
      }
      // The Proxmox and Talos nodes' continue-on-fail items carry more than `error`: n8n leaves them on the
      // success output, so that output must go through a guard that catches them.
      for (const node of json.nodes.filter((n) => n.onError === 'continueErrorOutput' && /^n8n-nodes-cortex\.(proxmox|talos)$/.test(n.type))) {
        const next = (json.connections[node.name]?.main?.[0] ?? []).map((t) => byName.get(t.node));
        const guarded = next.length > 0 && next.every((n) => n?.type === 'n8n-nodes-base.if' && JSON.stringify(n.parameters).includes('$json.error === undefined'));
        if (!guarded) problems.push(`${file}: ${node.name}: its success output is not guarded against error items`);
      }
      const waits = json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.handoff' && n.parameters.operation === 'waitForCompletion');
      for (const waitNode of waits) {
        const outputs = json.connections[waitNode.name]?.main ?? [];
        if (!(outputs[0]?.length && outputs[1]?.length)) problems.push(`${file}: ${waitNode.name} must lead on from Completed (0) and Failed / Timed Out (1)`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('count outputs as n8n does', { skip: NO_N8N }, () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      const copy = structuredClone(json);
      const workflow = new wf.Workflow({ id: copy.id, name: copy.name, nodes: copy.nodes, connections: copy.connections, active: false, nodeTypes: nodeTypes(), settings: copy.settings });
      for (const node of copy.nodes) {
        const theirs = n8nOutputCount(workflow, node);
        if (theirs !== undefined && theirs !== outputCount(node)) problems.push(`${file}: ${node.name}: n8n counts ${theirs} outputs, the test ${outputCount(node)}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('have expressions n8n can parse, naming existing nodes', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) problems.push(...expressionProblems(json).map((p) => `${file}: ${p}`));
    assert.deepEqual(problems, []);
  });

  it('give every webhook its own method and path', () => {
    const seen = new Map<string, string>();
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
        const key = `${String(node.parameters.httpMethod)} ${String(node.parameters.path)}`;
        assert.ok(!seen.has(key), `${key} in ${file} and ${seen.get(key)}`);
        seen.set(key, file);
      }
    }
    for (const path of ['POST workflow-trigger', 'POST security-alert', 'POST github-push', 'POST prometheus-alert']) assert.ok(seen.has(path), path);
  });

  describe('seed workflows', () => {
    for (const [workflowId, file] of Object.entries(SEED_FILES)) {
      it(`${file} runs ${workflowId}: every phase reported, handed to its contractor, approvals gated, failures roll back`, () => {
        const definition: Definition = loadDefinition(workflowId);
        const json = loaded.get(file)!.json;
        const ours = (operation: string, resource?: string) =>
          json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.handoff' && n.parameters.operation === operation && (!resource || n.parameters.resource === resource));
        const start = ours('start', 'workflowRun');
        assert.equal(start.length, 1);
        assert.equal(start[0]!.parameters.workflowId, workflowId);
        assert.ok(String((start[0]!.parameters.options as Record<string, unknown>).concurrencyKey ?? '').length > 0, 'a concurrency key');
        const started = ours('startPhase').map((n) => n.parameters.phaseId);
        const completed = ours('completePhase').map((n) => n.parameters.phaseId);
        const phases = definition.phases.map((p) => p.phase_id);
        assert.deepEqual(started, phases);
        assert.deepEqual(completed, phases);
        for (const phase of definition.phases) {
          if (phase.contractor === 'n8n-contractor') continue;
          const create = ours('create', 'handoff').find((n) => (n.parameters.options as Record<string, unknown>).phaseId === phase.phase_id);
          assert.ok(create, `a handoff for ${phase.phase_id}`);
          assert.equal(create.parameters.toContractor, phase.contractor);
          assert.equal(create.parameters.fromContractor, 'n8n-contractor');
        }
        const gates = json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.approvalGate');
        for (const action of definition.phases.flatMap((p) => p.actions).filter((a) => a.action === 'request_approval')) {
          const gate = gates.find((g) => String((g.parameters.options as Record<string, unknown>).approvalId).endsWith(`-${action.action_id}`));
          assert.ok(gate, `an Approval Gate for ${action.action_id}`);
          assert.equal(gate.parameters.requiredApprovals, action.parameters?.required_approvals);
          const outputs = json.connections[gate.name]?.main ?? [];
          assert.ok(outputs[0]?.length && outputs[1]?.length && outputs[2]?.length, `${gate.name}: Approved, Rejected and Timed Out lead on`);
        }
        assert.equal(ours('failPhase').length, 1);
        assert.equal(ours('fail', 'workflowRun').length, 1);
        assert.equal(ours('getRollbackPlan').length, 2);
        assert.ok(json.nodes.some((n) => n.type === 'n8n-nodes-base.respondToWebhook' && (n.parameters.options as Record<string, unknown>).responseCode === 202));
        for (const hook of json.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
          assert.equal(hook.parameters.responseMode, 'responseNode', `${hook.name} answers from a Respond to Webhook node`);
        }
      });
    }
  });

  it('workers serve every phase of their contractor and its rollback', () => {
    const definitions = Object.keys(SEED_FILES).map(loadDefinition);
    for (const [contractor, file] of [
      ['infrastructure-contractor', 'infrastructure-contractor-worker.json'],
      ['talos-contractor', 'talos-contractor-worker.json'],
    ] as const) {
      const json = loaded.get(file)!.json;
      const trigger = json.nodes.find((n) => n.type === 'n8n-nodes-cortex.handoffTrigger');
      assert.equal(trigger?.parameters.contractor, contractor);
      const route = json.nodes.find((n) => n.name === 'Route')!;
      const keys = ((route.parameters.rules as { values: Array<{ outputKey: string }> }).values ?? []).map((v) => v.outputKey);
      const expected: string[] = [];
      for (const definition of definitions) {
        const rollback = definition.rollback_procedure?.phases ?? [];
        for (const phase of definition.phases.filter((p) => p.contractor === contractor)) {
          expected.push(phase.phase_id);
          if (rollback.includes(phase.phase_id) || rollback.includes(`${phase.phase_id}-rollback`)) expected.push(`${phase.phase_id}-rollback`);
        }
      }
      assert.deepEqual([...keys].sort(), [...expected].sort(), file);
      const outputs = json.connections.Route?.main ?? [];
      keys.forEach((key, index) => assert.ok(outputs[index]?.length, `${file}: route ${key} leads somewhere`));
      for (const op of ['claim', 'complete', 'fail']) assert.ok(json.nodes.some((n) => n.parameters.operation === op && n.type === 'n8n-nodes-cortex.handoff'), `${file}: ${op}`);
    }
  });

  it('schedule the etcd backup at 0 2 * * * UTC with a Talos etcd snapshot', () => {
    const json = loaded.get('backup-etcd-snapshot.json')!.json;
    const trigger = json.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
    assert.deepEqual(trigger.parameters.rule, { interval: [{ field: 'cronExpression', expression: '0 2 * * *' }] });
    assert.equal(json.settings.timezone, 'UTC');
    assert.ok(json.nodes.some((n) => n.type === 'n8n-nodes-cortex.talos' && n.parameters.resource === 'etcd' && n.parameters.operation === 'snapshot'));
  });

  it('hold no secrets: credentials are placeholders, no token-looking strings', () => {
    const problems: string[] = [];
    for (const [file, { text, json }] of loaded) {
      if (/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/.test(text)) problems.push(`${file}: PEM block`);
      if (/\b(Bearer|Basic|PVEAPIToken=)\s*[A-Za-z0-9+/=._-]{8,}/.test(text)) problems.push(`${file}: an authorization value`);
      if (/\b(gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})/.test(text)) problems.push(`${file}: a well-known token format`);
      for (const node of json.nodes) {
        const values: Array<[string, string]> = [];
        strings(node.parameters, node.name, values);
        for (const [path, value] of values) {
          // Assignment and condition ids of Set / If / Switch are the only UUIDs a template needs in its parameters.
          if (!/\.id$/.test(path) && /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(value)) problems.push(`${path}: a UUID (token secrets look like one)`);
          // Random-looking runs: 16+ letters and digits with 3+ digits (names like CortexEtcdBackup1 have fewer), or long hex.
          for (const segment of value.split(/[^A-Za-z0-9+]+/)) {
            const digits = segment.replace(/[^0-9]/g, '').length;
            if ((segment.length >= 16 && digits >= 3 && /[A-Za-z]/.test(segment)) || /^[0-9a-f]{24,}$/i.test(segment)) problems.push(`${file}: ${path}: token-looking "${segment}"`);
          }
          if (!value.startsWith('=') && /(password|passwd|secret|token|api[_-]?key)\s*[:=]\s*['"]?[A-Za-z0-9]/i.test(value)) problems.push(`${file}: ${path}: a secret-looking assignment`);
          if (/\.(password|cipassword|tokenSecret|token|secret|hmacSecret)$/.test(path)) problems.push(`${file}: ${path}: a secret parameter`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('reference the placeholder credentials a user re-links after import', () => {
    const names = new Set<string>();
    for (const [, { json }] of loaded) for (const node of json.nodes) for (const ref of Object.values(node.credentials ?? {})) names.add(ref.name);
    for (const name of ['Cortex (n8n-contractor)', 'Proxmox VE', 'Talos cluster']) assert.ok(names.has(name), name);
  });
});

export type { Template };
