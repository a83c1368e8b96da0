// Waiting for a UPID task (as bpg's tasks.WaitForTask): poll /nodes/{node}/tasks/{upid}/status
// with n8n's sleep until it stops or the overall timeout passes, then give an honest result:
// OK, OK with warnings (the warning lines from the log), or a ProxmoxError carrying the exit
// status and the tail of the task log.

import type { ClientSettings } from './retry.ts';
import { pause, pollDelay } from './retry.ts';
import { ProxmoxError } from './errors.ts';
import type { ProxmoxClient } from './client.ts';

export interface Upid {
  node: string;
  pid: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

/** UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: */
export function parseUpid(upid: string): Upid | undefined {
  const m = /^UPID:([a-zA-Z0-9][a-zA-Z0-9.-]*):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:]+):([^:]*):([^:]+):$/.exec(upid.trim());
  if (!m) return undefined;
  return { node: m[1]!, pid: parseInt(m[2]!, 16), starttime: parseInt(m[4]!, 16), type: m[5]!, id: m[6]!, user: m[7]! };
}

export interface TaskResult {
  upid: string;
  node: string;
  type: string;
  id: string;
  /** OK, or WARNINGS when the task succeeded with warnings. */
  status: 'OK' | 'WARNINGS';
  exitstatus: string;
  warnings?: string[];
  /** How long the node waited for the task. */
  waitedMs: number;
  polls: number;
}

interface TaskStatus {
  status?: string;
  exitstatus?: string;
}

const LOG_TAIL = 20;

function statusPath(upid: Upid, raw: string): string {
  return `/nodes/${encodeURIComponent(upid.node)}/tasks/${encodeURIComponent(raw)}`;
}

/** The task's log lines (the last `tail` of them, at most two requests). */
export async function taskLog(client: ProxmoxClient, raw: string, settings: ClientSettings, tail = LOG_TAIL): Promise<string[]> {
  const upid = parseUpid(raw);
  if (!upid) return [];
  const path = `${statusPath(upid, raw)}/log`;
  const first = await client.getEnvelope<Array<{ n: number; t: string }>>(path, { start: 0, limit: 500 }, settings);
  let lines = (first.data ?? []).map((line) => line.t);
  if (first.total !== undefined && first.total > 500) {
    const last = await client.getEnvelope<Array<{ n: number; t: string }>>(path, { start: Math.max(0, first.total - tail), limit: tail }, settings);
    lines = (last.data ?? []).map((line) => line.t);
  }
  return lines.slice(-tail);
}

export async function waitForTask(client: ProxmoxClient, raw: string, settings: ClientSettings): Promise<TaskResult> {
  const upid = parseUpid(raw);
  if (!upid) throw new ProxmoxError(`"${raw}" is not a Proxmox task ID (UPID)`, { kind: 'task' });
  const started = Date.now();
  const deadline = started + settings.taskTimeoutMs;
  const path = `${statusPath(upid, raw)}/status`;
  let polls = 0;
  // Tasks of a type already waited for in this execution (50 clones of one template) are first
  // checked when the quickest earlier one was seen done, not every interval from the start.
  const expected = client.expectedTaskMs(upid.type);
  // Bounded by the deadline; the poll count bound is a backstop.
  for (let poll = 0; poll < 100_000; poll++) {
    const delay = poll === 0 ? Math.max(pollDelay(0, settings.pollIntervalMs), expected) : pollDelay(poll, settings.pollIntervalMs);
    await pause(client.ctx, Math.max(0, Math.min(delay, deadline - Date.now())));
    const status = await client.get<TaskStatus>(path, undefined, settings);
    polls += 1;
    if (status?.status && status.status !== 'running') {
      const exitstatus = String(status.exitstatus ?? '').trim();
      const base = { upid: raw, node: upid.node, type: upid.type, id: upid.id, exitstatus, waitedMs: Date.now() - started, polls };
      if (exitstatus === 'OK' || /^WARNINGS: \d+$/.test(exitstatus)) client.recordTaskWait(upid.type, base.waitedMs);
      if (exitstatus === 'OK') return { ...base, status: 'OK' };
      if (/^WARNINGS: \d+$/.test(exitstatus)) {
        const log = await taskLog(client, raw, settings, 200);
        return { ...base, status: 'WARNINGS', warnings: log.filter((line) => /^WARN(ING)?:/i.test(line)) };
      }
      const logTail = await taskLog(client, raw, settings).catch(() => [] as string[]);
      throw new ProxmoxError(exitstatus || 'task failed without an exit status', { kind: 'task', upid: raw, exitStatus: exitstatus, logTail });
    }
    if (Date.now() >= deadline) {
      throw new ProxmoxError(`Task ${upid.type} ${upid.id} did not finish within ${Math.round(settings.taskTimeoutMs / 1000)} s; it keeps running on ${upid.node}`, {
        kind: 'timeout',
        upid: raw,
      });
    }
  }
  throw new ProxmoxError(`Task ${raw} polled too often`, { kind: 'timeout', upid: raw });
}
