// Builds n8n workflow JSON in the editor's export format: nodes with stable ids and positions,
// connections by node name, settings, pinData and the inactive flag. The templates in
// templates/n8n/*.json are written by generate.ts from the workflow modules next to this file.

import { createHash } from 'node:crypto';

export type Parameters = Record<string, unknown>;

export interface CredentialRef {
  id: string;
  name: string;
}

export interface NodeJson {
  id: string;
  name: string;
  type: string;
  typeVersion: number;
  position: [number, number];
  parameters: Parameters;
  credentials?: Record<string, CredentialRef>;
  webhookId?: string;
  onError?: 'continueErrorOutput' | 'continueRegularOutput' | 'stopWorkflow';
  retryOnFail?: boolean;
  maxTries?: number;
  waitBetweenTries?: number;
  executeOnce?: boolean;
  alwaysOutputData?: boolean;
  notes?: string;
  notesInFlow?: boolean;
}

/** A node as the workflow modules write it: no id (derived from the name) and no position (laid out). */
export type NodeSpec = Omit<NodeJson, 'id' | 'position'>;

export interface ConnectionTarget {
  node: string;
  type: 'main';
  index: number;
}

export type Connections = Record<string, { main: ConnectionTarget[][] }>;

export interface WorkflowJson {
  id: string;
  name: string;
  nodes: NodeJson[];
  connections: Connections;
  settings: Record<string, unknown>;
  pinData: Record<string, never>;
  active: false;
  meta: Record<string, unknown>;
  tags: never[];
}

/** A UUID (version 4 layout) derived from the text: the same template always gets the same ids. */
export function stableUuid(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Node types whose nodes carry a webhookId (the types declare webhooks: n8n gives them one when added in the editor). */
const WEBHOOK_TYPES = new Set([
  'n8n-nodes-base.webhook',
  'n8n-nodes-base.wait',
  'n8n-nodes-cortex.handoff',
  'n8n-nodes-cortex.handoffTrigger',
  'n8n-nodes-cortex.approvalGate',
]);

const COLUMN = 260;
const ROW = 180;

export interface WorkflowMeta {
  /** The workflow id n8n keeps on `import:workflow` (re-importing updates instead of duplicating). */
  id: string;
  name: string;
  /** File name under templates/n8n/. */
  file: string;
  /** Workflow settings beyond executionOrder (timezone, …). */
  settings?: Record<string, unknown>;
}

export class WorkflowBuilder {
  readonly meta: WorkflowMeta;
  private readonly specs: NodeSpec[] = [];
  private readonly fixed = new Map<string, [number, number]>();
  private readonly links: Array<{ from: string; to: string; output: number; input: number }> = [];

  constructor(meta: WorkflowMeta) {
    this.meta = meta;
  }

  /** Adds a node; returns its name. Names are unique in a workflow (connections refer to them). */
  add(spec: NodeSpec, position?: [number, number]): string {
    if (this.specs.some((existing) => existing.name === spec.name)) throw new Error(`${this.meta.name}: two nodes named "${spec.name}"`);
    this.specs.push(spec);
    if (position) this.fixed.set(spec.name, position);
    return spec.name;
  }

  has(name: string): boolean {
    return this.specs.some((spec) => spec.name === name);
  }

  /** Output `output` of `from` to input `input` of `to`. */
  connect(from: string, to: string, output = 0, input = 0): void {
    for (const name of [from, to]) if (!this.has(name)) throw new Error(`${this.meta.name}: no node "${name}" to connect`);
    if (this.links.some((l) => l.from === from && l.to === to && l.output === output && l.input === input)) return;
    this.links.push({ from, to, output, input });
  }

  /** Output 0 of each node to the next one. */
  chain(...names: string[]): void {
    for (let i = 1; i < names.length; i++) this.connect(names[i - 1]!, names[i]!);
  }

  toJson(): WorkflowJson {
    const positions = this.layout();
    const nodes: NodeJson[] = this.specs.map((spec) => {
      const { name, type, typeVersion, parameters, ...rest } = spec;
      const node: NodeJson = {
        id: stableUuid(`${this.meta.id}/${name}`),
        name,
        type,
        typeVersion,
        position: positions.get(name) ?? [0, 0],
        parameters,
        ...rest,
      };
      if (WEBHOOK_TYPES.has(type) && !node.webhookId) node.webhookId = stableUuid(`${this.meta.id}/${name}/webhook`);
      return node;
    });
    const connections: Connections = {};
    for (const link of this.links) {
      const outputs = (connections[link.from] ??= { main: [] }).main;
      while (outputs.length <= link.output) outputs.push([]);
      outputs[link.output]!.push({ node: link.to, type: 'main', index: link.input });
    }
    return {
      id: this.meta.id,
      name: this.meta.name,
      nodes,
      connections,
      settings: { executionOrder: 'v1', ...(this.meta.settings ?? {}) },
      pinData: {},
      active: false,
      meta: { templateCredsSetupCompleted: false },
      tags: [],
    };
  }

  /**
   * Left to right by first discovery from the triggers: a node's first successor stays on its row,
   * further successors (other outputs, branches) open rows below. Sticky notes and fixed positions
   * are left alone.
   */
  private layout(): Map<string, [number, number]> {
    const positions = new Map<string, [number, number]>(this.fixed);
    const taken = new Set<string>();
    for (const [x, y] of this.fixed.values()) taken.add(`${Math.round(x / COLUMN)},${Math.round(y / ROW)}`);
    const incoming = new Set(this.links.map((l) => l.to));
    const outgoing = (name: string) =>
      this.links.filter((l) => l.from === name).sort((a, b) => a.output - b.output || this.order(a.to) - this.order(b.to));
    let nextRow = 0;
    const place = (name: string, column: number, row: number): void => {
      if (positions.has(name)) return;
      let r = row;
      while (taken.has(`${column},${r}`)) r++;
      taken.add(`${column},${r}`);
      nextRow = Math.max(nextRow, r + 1);
      positions.set(name, [column * COLUMN, r * ROW]);
      let first = true;
      for (const link of outgoing(name)) {
        if (positions.has(link.to)) continue;
        if (first) {
          place(link.to, column + 1, r);
          first = false;
        } else {
          place(link.to, column + 1, nextRow);
        }
      }
    };
    const roots = this.specs.filter((s) => s.type !== 'n8n-nodes-base.stickyNote' && !incoming.has(s.name)).map((s) => s.name);
    for (const root of roots) place(root, 0, nextRow);
    // Anything not reached from a root (loops only) goes below.
    for (const spec of this.specs) if (spec.type !== 'n8n-nodes-base.stickyNote') place(spec.name, 0, nextRow);
    return positions;
  }

  private order(name: string): number {
    return this.specs.findIndex((s) => s.name === name);
  }
}
