// Machine and cluster state of the Talos simulator: lifecycle (maintenance → configured →
// bootstrapped), boot ids, the event log since boot, services and etcd membership.
//
// A machine is `up` or down. Going down (reboot, upgrade, apply with reboot, reset, shutdown)
// ends its open streams with UNAVAILABLE and closes its listener; coming back gives it a new boot
// id and a fresh event log that goes BOOTING → RUNNING (not ready) → RUNNING (ready).

import { randomUUID, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { parseAllDocuments } from 'yaml';
import { packEvent } from '../../../nodes/Talos/transport/proto.ts';

export type Role = 'controlplane' | 'worker';

export interface SimEvent {
  id: string;
  actorId: string;
  type: string;
  payload: Record<string, unknown>;
  at: number;
}

export interface ServiceState {
  id: string;
  state: string;
  healthy: boolean;
  message: string;
}

export interface Timing {
  /** How long a node stays unreachable during a reboot. */
  downMs: number;
  /** From coming back to reporting ready. */
  bootMs: number;
  /** From the action's reply to dropping connections. */
  stopMs: number;
}

export class Machine extends EventEmitter {
  readonly ip: string;
  hostname: string;
  /** The hostname without configuration (maintenance mode, after a reset). */
  readonly defaultHostname: string;
  role: Role | undefined;
  config: string | undefined;
  stagedConfig: string | undefined;
  tag: string;
  bootId = randomUUID();
  up = true;
  poweredOff = false;
  ready = false;
  stage: string;
  events: SimEvent[] = [];
  services = new Map<string, ServiceState>();
  /** Calls in flight (streams) to end when the machine goes down. */
  readonly openCalls = new Set<(reason: string) => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ip: string, hostname: string, tag: string) {
    super();
    this.setMaxListeners(100);
    this.ip = ip;
    this.hostname = hostname;
    this.defaultHostname = hostname;
    this.tag = tag;
    this.stage = 'MAINTENANCE';
    this.emitEvent('', 'machine.MachineStatusEvent', { stage: 'MAINTENANCE', status: { ready: false, unmetConditions: [] } });
  }

  get maintenance(): boolean {
    return this.config === undefined;
  }

  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  stopTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  emitEvent(actorId: string, type: string, payload: Record<string, unknown>): SimEvent {
    const event: SimEvent = { id: `${Date.now().toString(36)}${randomBytes(4).toString('hex')}`, actorId, type, payload, at: Date.now() };
    this.events.push(event);
    if (this.events.length > 1000) this.events.shift();
    this.emit('event', event);
    return event;
  }

  status(actorId: string, stage: string, ready: boolean, unmet: Array<{ name: string; reason: string }> = []): void {
    this.stage = stage;
    this.ready = ready;
    this.emitEvent(actorId, 'machine.MachineStatusEvent', { stage, status: { ready, unmetConditions: unmet } });
  }

  setService(actorId: string, id: string, state: string, healthy: boolean, message: string): void {
    this.services.set(id, { id, state, healthy, message });
    const action = state.toUpperCase();
    this.emitEvent(actorId, 'machine.ServiceStateEvent', { service: id, action, message, health: { unknown: false, healthy, lastMessage: message } });
  }

  /** Ends open streams (the connection dropped). */
  dropCalls(reason: string): void {
    for (const end of [...this.openCalls]) end(reason);
    this.openCalls.clear();
  }
}

/** Event payload as google.protobuf.Any (used by the Events handler). */
export function eventMessage(machine: Machine, event: SimEvent): Record<string, unknown> {
  return {
    metadata: { hostname: machine.hostname },
    data: packEvent(event.type, event.payload),
    id: event.id,
    actorId: event.actorId,
  };
}

export interface ParsedConfig {
  type: Role;
  hostname?: string;
  installImage?: string;
  clusterName?: string;
  document: Record<string, any>;
}

/** Validates a machine config the way the simulator needs: YAML, v1alpha1, a machine type. */
export function parseMachineConfig(text: string): { config?: ParsedConfig; error?: string; warnings: string[] } {
  let documents: unknown[];
  try {
    documents = parseAllDocuments(text).map((doc) => {
      if (doc.errors.length) throw new Error(doc.errors[0]!.message);
      return doc.toJSON();
    });
  } catch (error) {
    return { error: `failed to parse config: ${(error as Error).message}`, warnings: [] };
  }
  const main = documents.find((doc) => doc && typeof doc === 'object' && (doc as Record<string, unknown>).version === 'v1alpha1') as Record<string, any> | undefined;
  if (!main) return { error: 'failed to parse config: no v1alpha1 machine configuration document found', warnings: [] };
  const type = main.machine?.type === 'init' ? 'controlplane' : main.machine?.type;
  if (type !== 'controlplane' && type !== 'worker') {
    return { error: `1 error occurred:\n\t* unknown machine type "${main.machine?.type ?? ''}"\n\n`, warnings: [] };
  }
  const warnings: string[] = [];
  if (!main.machine?.install?.disk) warnings.push('machine.install.disk is not set: the installer will pick the first disk');
  if (!main.cluster?.controlPlane?.endpoint) warnings.push('cluster.controlPlane.endpoint is not set');
  return {
    config: {
      type,
      hostname: main.machine?.network?.hostname,
      installImage: main.machine?.install?.image,
      clusterName: main.cluster?.clusterName,
      document: main,
    },
    warnings,
  };
}

/** Unified-style line diff (LCS), enough for dry-run output. */
export function lineDiff(before: string, after: string, maxLines = 2000): string {
  const a = before.split('\n').slice(0, maxLines);
  const b = after.split('\n').slice(0, maxLines);
  const table: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i]![j] = a[i] === b[j] ? table[i + 1]![j + 1]! + 1 : Math.max(table[i + 1]![j]!, table[i]![j + 1]!);
    }
  }
  const out: string[] = ['--- a', '+++ b'];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || table[i]![j + 1]! >= table[i + 1]![j]!)) {
      out.push(`+${b[j++]}`);
    } else {
      out.push(`-${a[i++]}`);
    }
  }
  return out.length === 2 ? '' : out.join('\n');
}
