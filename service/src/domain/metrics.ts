// The seed's metrics shapes, computed from the store's incremental aggregates.

import type { ContractorStatsRow, WorkflowStatsRow } from '../store/store.ts';
import { quantileFromBuckets } from './histogram.ts';

/** Durations are written the way the seed writes them: whole seconds with an "s". */
export function formatDuration(ms: number | null): string | null {
  return ms === null ? null : `${Math.round(ms / 1000)}s`;
}

const ratio = (part: number, whole: number): number => (whole === 0 ? 0 : Math.round((part / whole) * 1000) / 1000);

export interface WorkflowStatsView {
  workflow_id: string;
  executions: { total: number; successful: number; failed: number; success_rate: number };
  performance: {
    avg_duration: string | null;
    min_duration: string | null;
    max_duration: string | null;
    p95_duration: string | null;
  };
  last_execution: { timestamp: string; status: 'completed' | 'failed'; duration: string } | null;
}

export function workflowStatsView(workflowId: string, row: WorkflowStatsRow | null): WorkflowStatsView {
  if (!row || row.total === 0) {
    return {
      workflow_id: workflowId,
      executions: { total: 0, successful: 0, failed: 0, success_rate: 0 },
      performance: { avg_duration: null, min_duration: null, max_duration: null, p95_duration: null },
      last_execution: null,
    };
  }
  const min = row.duration_min_ms ?? 0;
  const max = row.duration_max_ms ?? 0;
  return {
    workflow_id: row.workflow_id,
    executions: {
      total: row.total,
      successful: row.successful,
      failed: row.failed,
      success_rate: ratio(row.successful, row.total),
    },
    performance: {
      avg_duration: formatDuration(row.duration_sum_ms / row.total),
      min_duration: formatDuration(row.duration_min_ms),
      max_duration: formatDuration(row.duration_max_ms),
      p95_duration: formatDuration(quantileFromBuckets(row.buckets, 0.95, min, max)),
    },
    last_execution:
      row.last_at === null || row.last_status === null || row.last_duration_ms === null
        ? null
        : {
            timestamp: new Date(row.last_at).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            status: row.last_status,
            duration: formatDuration(row.last_duration_ms) as string,
          },
  };
}

export interface ContractorStatsView {
  contractor: string;
  workflows_participated: number;
  avg_handoff_time: string | null;
  error_rate: number;
  common_errors: { error: string; count: number }[];
}

/**
 * avg_handoff_time: mean time from a handoff's creation to its end (completed or
 * failed) over the handoffs addressed to this contractor. error_rate: the share of
 * those that failed (timeouts and cancellations included).
 */
export function contractorStatsView(contractor: string, row: ContractorStatsRow | null): ContractorStatsView {
  if (!row) {
    return { contractor, workflows_participated: 0, avg_handoff_time: null, error_rate: 0, common_errors: [] };
  }
  return {
    contractor: row.contractor,
    workflows_participated: row.workflows_participated,
    avg_handoff_time:
      row.handoffs_finished === 0 ? null : formatDuration(row.handoff_time_sum_ms / row.handoffs_finished),
    error_rate: ratio(row.handoffs_failed, row.handoffs_finished),
    common_errors: row.common_errors,
  };
}
