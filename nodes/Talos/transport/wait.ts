/* eslint-disable @n8n/community-nodes/require-node-api-error -- transport code has no node context: its typed errors are turned into NodeApiError/NodeOperationError by actions/errors.ts (the router) */
// Reboot / upgrade / shutdown / reset that wait for the node the way talosctl does (its action tracker):
//
//   1. read the boot id (/proc/sys/kernel/random/boot_id) and open the Events stream BEFORE the
//      action, so no event of it is missed;
//   2. run the action; it answers with an actor id; follow the stream for events of that actor
//      (sequence/phase/task/stage lines become the progress report) until the node drops the
//      connection (stream ends or fails with UNAVAILABLE); a sequence error fails the wait;
//   3. reconnect with a fresh channel, at most `maxAttempts` times, `retryDelayMs` apart (n8n's
//      sleep, never a timer loop), reading all events of the new boot (tail -1) until the
//      machine reports stage RUNNING and ready;
//   4. post-check: the boot id changed (otherwise the node never rebooted: keep waiting).
// The end state differs by action (`until`):
//   - 'ready' (reboot, upgrade): steps 3 and 4 as above;
//   - 'off' (shutdown, reset without reboot): after the stopAllServices task ended (or the stream
//     dropped), reconnect until the node no longer answers through the endpoint;
//   - 'maintenance' (reset with reboot): the node comes back without configuration, so it answers
//     only the insecure maintenance API at its own address (no client certificate, like
//     `talosctl --insecure`): reconnect there (`maintenance` connector) until Version reports
//     platform mode "maintenance". The maintenance API has no file reads, so the new boot id cannot
//     be read (talosctl's post check there is a maintenance-mode call too); the node dropping the
//     connection and then answering in maintenance mode (it had a configuration before) shows it
//     rebooted.
// Everything is bounded by `timeoutMs`; every call carries a deadline inside it.

import { TalosApiError } from './errors.ts';
import type { TalosClient } from './client.ts';
import { unpackEvent } from './proto.ts';

const MACHINE = 'machine.MachineService';

export type WaitUntil = 'ready' | 'off' | 'maintenance';

export interface WaitOptions {
  /** A new client (new channel) for each (re)connection. */
  connect: () => TalosClient;
  /** For until = 'maintenance': a new insecure client to the node's own address. */
  maintenance?: { connect: () => TalosClient; address: string };
  sleep: (ms: number) => Promise<void>;
  node?: string;
  timeoutMs: number;
  retryDelayMs: number;
  maxAttempts: number;
  /** Deadline for single calls (boot id read, action). */
  callTimeoutMs: number;
}

export interface WaitResult<R> {
  reply: R;
  /** How the wait ended: back and ready, powered off, or back in maintenance mode. */
  state: WaitUntil;
  /** Platform mode reported over the maintenance API (until = 'maintenance'). */
  platformMode?: string;
  actorId: string;
  bootIdBefore: string;
  bootIdAfter?: string;
  reconnects: number;
  progress: string[];
  durationMs: number;
}

export class WaitTimeoutError extends Error {
  readonly progress: string[];
  constructor(message: string, progress: string[]) {
    super(message);
    this.name = 'WaitTimeoutError';
    this.progress = progress;
  }
}

export async function readBootId(client: TalosClient, node: string | undefined, timeoutMs: number): Promise<string> {
  const bytes = await client.readAll(MACHINE, 'Read', { path: '/proc/sys/kernel/random/boot_id' }, { node, timeoutMs });
  return bytes.toString('utf8').trim();
}

/** One progress line for an event, like talosctl's reporter. */
export function describeEvent(event: Record<string, any>): { line?: string; type?: string; payload?: Record<string, any> } {
  const unpacked = unpackEvent(event.data);
  if (!unpacked) return {};
  const p = unpacked.payload;
  let line: string | undefined;
  switch (unpacked.type) {
    case 'machine.SequenceEvent':
      line = `sequence: ${p.sequence} action: ${p.action}${p.error?.message ? ` error: ${p.error.message}` : ''}`;
      break;
    case 'machine.PhaseEvent':
      line = `phase: ${p.phase} action: ${p.action}`;
      break;
    case 'machine.TaskEvent':
      line = `task: ${p.task} action: ${p.action}`;
      break;
    case 'machine.MachineStatusEvent':
      line = `stage: ${p.stage} ready: ${p.status?.ready === true}${p.status?.unmetConditions?.length ? ` unmet: ${p.status.unmetConditions.map((c: { name: string }) => c.name).join(',')}` : ''}`;
      break;
    case 'machine.ServiceStateEvent':
      line = `service: ${p.service} ${p.action}${p.message ? ` (${p.message})` : ''}`;
      break;
  }
  return { line, type: unpacked.type, payload: p };
}

function isTransient(error: unknown): boolean {
  return error instanceof TalosApiError && error.transient;
}

type Stop = 'down' | 'ready' | 'stopped';

export async function actAndWait<R>(
  options: WaitOptions,
  action: (client: TalosClient) => Promise<{ reply: R; actorId: string }>,
  until: WaitUntil = 'ready',
): Promise<WaitResult<R>> {
  if (until === 'maintenance' && !options.maintenance) throw new Error('waiting for maintenance mode needs a connector to the node\'s own address');
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const progress: string[] = [];
  // A line repeated right away (retries while the node is down) is counted, not repeated.
  let lastLine = '';
  let repeats = 0;
  const note = (line: string) => {
    if (line === lastLine && progress.length) {
      repeats++;
      progress[progress.length - 1] = `${line} (x${repeats + 1})`;
      return;
    }
    lastLine = line;
    repeats = 0;
    progress.push(line);
    if (progress.length > 500) progress.splice(0, progress.length - 500);
  };

  let client = options.connect();
  let bootIdBefore: string;
  let reply: R;
  let actorId: string;
  try {
    bootIdBefore = await readBootId(client, options.node, Math.min(options.callTimeoutMs, remaining()));
    const events = client.stream(MACHINE, 'Events', { tailEvents: 0 }, { node: options.node, timeoutMs: remaining() });
    ({ reply, actorId } = await action(client));
    note(`actor ID: ${actorId}`);
    await follow(events, actorId, note, until);
  } finally {
    client.close();
  }

  let reconnects = 0;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    if (Date.now() >= deadline) break;
    await options.sleep(Math.min(options.retryDelayMs, remaining()));
    if (Date.now() >= deadline) break;
    reconnects++;
    client = until === 'maintenance' ? options.maintenance!.connect() : options.connect();
    try {
      if (until === 'maintenance') {
        const [version] = await client.unary(MACHINE, 'Version', {}, { timeoutMs: Math.min(options.callTimeoutMs, remaining()) });
        const platformMode = String(version?.platform?.mode ?? '');
        if (platformMode !== 'maintenance') {
          note(`node answers in ${platformMode || 'unknown'} mode, waiting for maintenance mode`);
          continue;
        }
        note(`post check passed: the node answers in maintenance mode at ${options.maintenance!.address}`);
        return { reply, actorId, state: until, platformMode, bootIdBefore, reconnects, progress, durationMs: Date.now() - started };
      }
      if (until === 'off') {
        await client.unary(MACHINE, 'Version', {}, { node: options.node, timeoutMs: Math.min(options.callTimeoutMs, remaining()) });
        note('node still answers, waiting for it to power off');
        continue;
      }
      const events = client.stream(MACHINE, 'Events', { tailEvents: -1 }, { node: options.node, timeoutMs: remaining() });
      const stop = await follow(events, '', note, 'ready');
      if (stop !== 'ready') continue;
      const bootIdAfter = await readBootId(client, options.node, Math.min(options.callTimeoutMs, remaining()));
      if (bootIdAfter === bootIdBefore) {
        note('post check: boot ID not changed yet');
        continue;
      }
      note('post check passed: boot ID changed');
      return { reply, actorId, state: until, bootIdBefore, bootIdAfter, reconnects, progress, durationMs: Date.now() - started };
    } catch (error) {
      if (until === 'off' && isTransient(error)) {
        note('node is off');
        return { reply, actorId, state: until, bootIdBefore, reconnects, progress, durationMs: Date.now() - started };
      }
      if (!isTransient(error) && !(error instanceof TalosApiError && error.codeName === 'DEADLINE_EXCEEDED')) throw error;
      note(`unavailable, retrying... (${(error as Error).message.slice(0, 160)})`);
    } finally {
      client.close();
    }
  }
  const what = {
    ready: 'come back ready with a new boot ID',
    off: 'power off',
    maintenance: `come back in maintenance mode (insecure API at ${options.maintenance?.address})`,
  }[until];
  const last = progress.at(-1);
  throw new WaitTimeoutError(
    `The node did not ${what} within ${Math.round(options.timeoutMs / 1000)} s (${reconnects} reconnects)${last ? `; last seen: ${last}` : ''}`,
    progress,
  );
}

/**
 * Reads events until the node drops the stream ('down'), the machine is RUNNING and ready on a
 * reconnect ('ready'), or the stopAllServices task of a shutdown ended ('stopped').
 * `actorId` '' means: the events of the new boot (no actor).
 */
async function follow(events: AsyncGenerator<Record<string, any>>, actorId: string, note: (line: string) => void, until: WaitUntil): Promise<Stop> {
  try {
    for await (const event of events) {
      const { line, type, payload } = describeEvent(event);
      if (!line) continue;
      if (actorId && event.actorId !== actorId) continue;
      note(line);
      if (type === 'machine.SequenceEvent' && payload?.error?.message) throw new Error(`sequence error: ${payload.error.message}`);
      if (!actorId && type === 'machine.MachineStatusEvent' && payload?.stage === 'RUNNING' && payload?.status?.ready === true) {
        await events.return(undefined);
        return 'ready';
      }
      if (until === 'off' && type === 'machine.TaskEvent' && payload?.task === 'stopAllServices' && payload?.action === 'STOP') {
        await events.return(undefined);
        return 'stopped';
      }
    }
    return 'down';
  } catch (error) {
    if (isTransient(error)) {
      note('connection dropped (node going down)');
      return 'down';
    }
    throw error;
  }
}
