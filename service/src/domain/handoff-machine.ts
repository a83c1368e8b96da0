// The handoff state machine, in one table.
//
//   pending ──claim──▶ in_progress ──complete──▶ completed
//      │                  │  ▲
//      │                  └──┘ heartbeat (stays in_progress, moves the heartbeat deadline)
//      └──fail / cancel / timeout──▶ failed ◀──fail / cancel / timeout── in_progress
//
// completed and failed are final: every action on them is an illegal transition (409).
// A timeout is a failure whose error code says which deadline fired; a cancellation is
// a failure with code handoff_cancelled. Each transition announces exactly one event.

import type { EventType, HandoffStatus } from './types.ts';

export type HandoffAction = 'claim' | 'heartbeat' | 'complete' | 'fail' | 'cancel' | 'timeout';

interface TransitionRule {
  from: readonly HandoffStatus[];
  to: HandoffStatus;
  /** The event announced to subscribers and written to history; null: none (heartbeats). */
  event: EventType | null;
}

export const HANDOFF_TRANSITIONS: Readonly<Record<HandoffAction, TransitionRule>> = {
  claim: { from: ['pending'], to: 'in_progress', event: 'handoff.claimed' },
  heartbeat: { from: ['in_progress'], to: 'in_progress', event: null },
  complete: { from: ['in_progress'], to: 'completed', event: 'handoff.completed' },
  fail: { from: ['pending', 'in_progress'], to: 'failed', event: 'handoff.failed' },
  cancel: { from: ['pending', 'in_progress'], to: 'failed', event: 'handoff.cancelled' },
  timeout: { from: ['pending', 'in_progress'], to: 'failed', event: 'handoff.timed_out' },
};

export const FINAL_STATUSES: readonly HandoffStatus[] = ['completed', 'failed'];

export function canTransition(status: HandoffStatus, action: HandoffAction): boolean {
  return HANDOFF_TRANSITIONS[action].from.includes(status);
}

/** The kinds of deadline a handoff can have, the status in which each runs, and its error code. */
export const HANDOFF_DEADLINES = {
  claim: { while: 'pending', code: 'handoff_claim_timeout' },
  completion: { while: 'in_progress', code: 'handoff_completion_timeout' },
  heartbeat: { while: 'in_progress', code: 'handoff_heartbeat_timeout' },
} as const satisfies Record<string, { while: HandoffStatus; code: string }>;

export type HandoffDeadline = keyof typeof HANDOFF_DEADLINES;

export const isHandoffDeadline = (kind: string): kind is HandoffDeadline => Object.hasOwn(HANDOFF_DEADLINES, kind);
