// What the template checks need (test/templates/n8n-templates.test.ts, and the n8n-nodes-base checks
// against installed n8n in test/e2e/templates-n8n-base.e2e.test.ts): the committed template files, our
// node types, n8n-nodes-base's types loaded from an n8n install folder, and the parameter, output and
// expression checks, read the way n8n's own NodeHelpers and expression parser read them. A plain module,
// not a test file: importing it registers no tests.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { INode, INodeProperties, INodeType, INodeTypeDescription, IConnections } from 'n8n-workflow';
import { templates, TEMPLATE_DIR } from '../../templates/n8n/src/generate.ts';

export const wf = createRequire(import.meta.url)('n8n-workflow') as typeof import('n8n-workflow');
const { NodeHelpers } = wf;
const { Tournament } = createRequire(createRequire(import.meta.url).resolve('n8n-workflow'))('@n8n/tournament') as {
  Tournament: new (onError: (error: Error) => void) => { getExpressionCode(expression: string): [string, unknown] };
};

const { Handoff } = await import('../../nodes/Handoff/Handoff.node.ts');
const { HandoffTrigger } = await import('../../nodes/HandoffTrigger/HandoffTrigger.node.ts');
const { Proxmox } = await import('../../nodes/Proxmox/Proxmox.node.ts');
const { Talos } = await import('../../nodes/Talos/Talos.node.ts');
const { ApprovalGate } = await import('../../nodes/ApprovalGate/ApprovalGate.node.ts');

export const OURS = new Map<string, INodeType>(
  [new Handoff(), new HandoffTrigger(), new Proxmox(), new Talos(), new ApprovalGate()].map((node: INodeType) => [`n8n-nodes-cortex.${node.description.name}`, node]),
);

/** The n8n-nodes-base types the templates may use (checking their typeVersions and parameters needs installed n8n). */
export const BASE_TYPES = new Set([
  'webhook', 'scheduleTrigger', 'if', 'switch', 'set', 'respondToWebhook', 'noOp', 'stopAndError', 'merge', 'splitOut', 'aggregate',
  'httpRequest', 'readWriteFile', 'splitInBatches', 'wait', 'crypto', 'stickyNote', 'manualTrigger',
].map((name) => `n8n-nodes-base.${name}`));
export const TRIGGER_TYPES = new Set(['n8n-nodes-base.webhook', 'n8n-nodes-base.scheduleTrigger', 'n8n-nodes-base.manualTrigger', 'n8n-nodes-cortex.handoffTrigger']);

export const SEED_FILES: Record<string, string> = {
  'deploy-monitoring-stack': 'deploy-monitoring-stack.json',
  'build-k8s-cluster': 'build-k8s-cluster.json',
  'dr-failover': 'dr-failover.json',
  'app-deployment-pipeline': 'app-deployment-pipeline.json',
  'security-incident-response': 'security-incident-response.json',
};

// ------------------------------------------------------------------ n8n-nodes-base of the installed n8n

export interface BaseType {
  versions: number[];
  load(version: number): INodeTypeDescription;
}

/** n8n-nodes-base node types by name (BASE_TYPES only), from the codex files next to each node in n8n's install folder `home` (loaded on use). */
export function baseTypes(home: string): Map<string, BaseType> {
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

// ------------------------------------------------------------------ the files

export interface NodeJson extends INode {
  onError?: INode['onError'];
}
export interface WorkflowFile {
  id?: string;
  name: string;
  nodes: NodeJson[];
  connections: IConnections;
  settings: Record<string, unknown>;
  pinData: Record<string, unknown>;
  active: boolean;
}

/** The generator's templates. */
export const generated = templates();
/** The committed template files (templates/n8n/*.json), sorted. */
export const files = readdirSync(TEMPLATE_DIR).filter((f) => f.endsWith('.json')).sort();
/** Each committed template file: its text and its JSON. */
export const loaded = new Map<string, { text: string; json: WorkflowFile }>(
  files.map((file) => {
    const text = readFileSync(join(TEMPLATE_DIR, file), 'utf8');
    return [file, { text, json: JSON.parse(text) as WorkflowFile }];
  }),
);

/** A node's type description: ours, or n8n-nodes-base's from `base` (baseTypes()) at the node's typeVersion. */
export function descriptionOf(node: NodeJson, base: Map<string, BaseType>): INodeTypeDescription | undefined {
  const ours = OURS.get(node.type);
  if (ours) return ours.description;
  return base.get(node.type)?.load(node.typeVersion);
}

// ------------------------------------------------------------------ parameter checks

const isExpression = (value: unknown): boolean => typeof value === 'string' && value.startsWith('=');

/** Problems of a node's parameters against its type's description, read the way n8n reads them. */
export function parameterProblems(original: NodeJson, description: INodeTypeDescription): string[] {
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

/** How many outputs a node has (our rules; cross-checked with n8n's own in test/e2e/templates-n8n-base.e2e.test.ts). */
export function outputCount(node: NodeJson): number {
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
export function n8nOutputCount(workflow: InstanceType<typeof wf.Workflow>, node: NodeJson, base: Map<string, BaseType>): number | undefined {
  const description = descriptionOf(node, base);
  if (!description) return undefined;
  return NodeHelpers.getNodeOutputs(workflow, node, description).length;
}

/** n8n's node types for a Workflow of a template: ours, and n8n-nodes-base's from `base` (baseTypes()). */
export function nodeTypes(base: Map<string, BaseType>) {
  const types = {
    getByName: (type: string) => OURS.get(type) ?? (base.has(type) ? ({ description: base.get(type)!.load(Math.max(...base.get(type)!.versions)) } as INodeType) : undefined),
    getByNameAndVersion: (type: string, version?: number) => {
      if (OURS.has(type)) return OURS.get(type);
      const baseType = base.get(type);
      return baseType ? ({ description: baseType.load(version ?? Math.max(...baseType.versions)) } as INodeType) : undefined;
    },
    getKnownTypes: () => ({}),
  };
  return types as unknown as ConstructorParameters<typeof wf.Workflow>[0]['nodeTypes'];
}

// ------------------------------------------------------------------ expressions

const tournament = new Tournament((error) => {
  throw error;
});

/** Every string in `value`, with its path. */
export function strings(value: unknown, path: string, out: Array<[string, string]>): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) strings(v, `${path}.${k}`, out);
}

/** Expressions of a workflow n8n's parser rejects, {{ }} without "=", $env, references to missing nodes. */
export function expressionProblems(workflow: WorkflowFile): string[] {
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
