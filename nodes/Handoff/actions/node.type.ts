// The node's resources and their operations, as the router dispatches them.

import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

export type HandoffOperation = 'cancel' | 'claim' | 'complete' | 'create' | 'fail' | 'get' | 'getAll' | 'heartbeat' | 'waitForCompletion';
export type WorkflowRunOperation =
  | 'complete'
  | 'completePhase'
  | 'fail'
  | 'failPhase'
  | 'get'
  | 'getRollbackPlan'
  | 'markRollbackStep'
  | 'start'
  | 'startPhase';
export type MetricsOperation = 'contractorPerformance' | 'workflowStats';
export type ApprovalOperation = 'cancel' | 'get' | 'getAll' | 'recordDecision';

export type CortexNodeType =
  | { resource: 'handoff'; operation: HandoffOperation }
  | { resource: 'workflowRun'; operation: WorkflowRunOperation }
  | { resource: 'metrics'; operation: MetricsOperation }
  | { resource: 'approval'; operation: ApprovalOperation };

/** One operation of one item: its JSON answer (a list gives one output item per entry). */
export interface ItemOperation {
  description: INodeProperties[];
  execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject | IDataObject[]>;
}
