// Request and response schemas: the one source for validation, the OpenAPI document
// and the handler types.

import { z } from 'zod';
import { EVENT_TYPES, HANDOFF_STATUSES, RUN_STATUSES } from '../domain/types.ts';

export const Slug = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit');
export const Contractor = Slug.describe('contractor name, e.g. infrastructure-contractor');
export const Id = z.string().min(1).max(200).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, ".", "_", ":" and "-"');
export const JsonObject = z.record(z.string(), z.json()).describe('any JSON object');
const Timeout = z.number().positive().max(2_592_000).nullable().optional().describe('seconds (fractions allowed), at most 30 days');
export const ErrorInfo = z.strictObject({
  code: z.string().min(1).max(100).regex(/^[a-z0-9_.-]+$/i, 'letters, digits, "_", "." and "-"'),
  message: z.string().max(4000).default(''),
});
export const Limit = z.coerce.number().int().min(1).max(500).default(50);
export const Cursor = z.string().max(1000).optional();

export const HandoffIdParams = z.strictObject({ id: Id });
export const CreateHandoffBody = z.strictObject({
  handoff_id: Id.optional().describe('your own id; generated when omitted'),
  from_contractor: Contractor,
  to_contractor: Contractor,
  task_id: z.string().min(1).max(200),
  data: JsonObject.optional(),
  run_id: Id.nullable().optional(),
  phase_id: Id.nullable().optional(),
  claim_timeout: Timeout.describe('seconds the receiver has to claim it (the seed\'s handoff timeout)'),
  completion_timeout: Timeout.describe('seconds from claim to completion'),
  heartbeat_timeout: Timeout.describe('longest gap between heartbeats once claimed'),
});
export const ListHandoffsQuery = z.strictObject({
  to_contractor: Contractor.optional(),
  from_contractor: Contractor.optional(),
  status: z.enum(HANDOFF_STATUSES).optional(),
  task_id: z.string().min(1).max(200).optional(),
  run_id: Id.optional(),
  cursor: Cursor,
  limit: Limit,
});
export const HistoryQuery = z.strictObject({
  after: z.coerce.number().int().min(0).default(0),
  limit: Limit,
});
export const EmptyBody = z.strictObject({});
export const HeartbeatBody = z.strictObject({ progress: JsonObject.optional() });
export const CompleteBody = z.strictObject({ result: JsonObject.optional() });
export const FailBody = z.strictObject({ error: ErrorInfo });
export const CancelBody = z.strictObject({ reason: z.string().max(4000).optional() });

export const HandoffView = z
  .object({
    handoff_id: z.string(),
    from_contractor: z.string(),
    to_contractor: z.string(),
    task_id: z.string(),
    data: JsonObject,
    status: z.enum(HANDOFF_STATUSES),
    run_id: z.string().nullable(),
    phase_id: z.string().nullable(),
    result: JsonObject.nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    progress: JsonObject.nullable(),
    claim_timeout: z.number().nullable(),
    completion_timeout: z.number().nullable(),
    heartbeat_timeout: z.number().nullable(),
    claim_deadline: z.string().nullable(),
    completion_deadline: z.string().nullable(),
    heartbeat_deadline: z.string().nullable(),
    version: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    claimed_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    last_heartbeat_at: z.string().nullable(),
  })
  .describe('Handoff');
export const HistoryView = z.object({
  seq: z.number().int(),
  type: z.string(),
  actor: z.string(),
  at: z.string(),
  data: JsonObject,
});
export const PageOf = (item: z.ZodType) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });

// ---------------------------------------------------------------- definitions and runs

export const DefinitionParams = z.strictObject({ workflow_id: Slug });
export const DefinitionVersionParams = z.strictObject({ workflow_id: Slug, version: z.string().min(1).max(50) });
export const DefinitionBody = z.record(z.string(), z.json()).describe('a workflow definition (templates/definitions/workflow-definition.schema.json)');

export const StartRunBody = z.strictObject({
  workflow_id: Slug,
  version: z.string().min(1).max(50).optional().describe('default: the latest stored version'),
  parameters: JsonObject.optional(),
  concurrency_key: z.string().min(1).max(200).nullable().optional().describe('at most one running run per key'),
  dry_run: z.boolean().optional(),
});
export const RunIdParams = z.strictObject({ id: Id });
export const PhaseParams = z.strictObject({ id: Id, phase_id: Id });
export const ActionParams = z.strictObject({ id: Id, phase_id: Id, action_id: Id });
export const StepParams = z.strictObject({ id: Id, step_id: Id });
export const ListRunsQuery = z.strictObject({
  workflow_id: Slug.optional(),
  status: z.enum(RUN_STATUSES).optional(),
  cursor: Cursor,
  limit: Limit,
});
export const PhaseCompleteBody = z.strictObject({ output: JsonObject.optional() });
export const RunFailBody = z.strictObject({ error: ErrorInfo, rollback: z.boolean().default(true) });
export const RollbackStepBody = z.strictObject({ status: z.enum(['done', 'failed']), note: z.string().max(4000).optional() });
export const RunView = z.looseObject({ run_id: z.string(), workflow_id: z.string(), status: z.enum(RUN_STATUSES), version: z.number().int() }).describe('Run');

// ---------------------------------------------------------------- subscriptions

export const SubscriptionFilter = z.strictObject({
  to_contractor: Contractor.optional(),
  from_contractor: Contractor.optional(),
  handoff_id: Id.optional(),
  run_id: Id.optional(),
  workflow_id: Slug.optional(),
  approval_id: Id.optional(),
});
export const CreateSubscriptionBody = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .max(2000),
  events: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length),
  filter: SubscriptionFilter.default({}),
  description: z.string().max(500).optional(),
});
export const SubscriptionIdParams = z.strictObject({ id: Id });
export const SubscriptionView = z.object({
  subscription_id: z.string(),
  owner: z.string(),
  url: z.string(),
  events: z.array(z.enum(EVENT_TYPES)),
  filter: SubscriptionFilter,
  description: z.string().nullable(),
  created_at: z.string(),
  secret: z.string().optional().describe('only in the answer to the create call: verify callbacks with it'),
});

// ---------------------------------------------------------------- metrics

export const WorkflowStatsView = z.object({
  workflow_id: z.string(),
  executions: z.object({ total: z.number(), successful: z.number(), failed: z.number(), success_rate: z.number() }),
  performance: z.object({
    avg_duration: z.string().nullable(),
    min_duration: z.string().nullable(),
    max_duration: z.string().nullable(),
    p95_duration: z.string().nullable(),
  }),
  last_execution: z.object({ timestamp: z.string(), status: z.string(), duration: z.string() }).nullable(),
});
export const ContractorStatsView = z.object({
  contractor: z.string(),
  workflows_participated: z.number(),
  avg_handoff_time: z.string().nullable(),
  error_rate: z.number(),
  common_errors: z.array(z.object({ error: z.string(), count: z.number() })),
});
export const WorkflowStatsParams = z.strictObject({ workflow_id: Slug });
export const ContractorStatsParams = z.strictObject({ contractor: Contractor });

export const ErrorView = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })),
  }),
});
