// The Workflow Run resource: runs of workflow definitions, their phases and rollback plans.

import type { INodeProperties } from 'n8n-workflow';
import * as complete from './complete.operation.ts';
import * as completePhase from './completePhase.operation.ts';
import * as fail from './fail.operation.ts';
import * as failPhase from './failPhase.operation.ts';
import * as get from './get.operation.ts';
import * as getRollbackPlan from './getRollbackPlan.operation.ts';
import * as markRollbackStep from './markRollbackStep.operation.ts';
import * as start from './start.operation.ts';
import * as startPhase from './startPhase.operation.ts';

export { complete, completePhase, fail, failPhase, get, getRollbackPlan, markRollbackStep, start, startPhase };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['workflowRun'] } },
    options: [
      { name: 'Complete Phase', value: 'completePhase', description: 'Finish a phase with its output', action: 'Complete a phase' },
      { name: 'Complete Run', value: 'complete', description: 'Finish a run successfully', action: 'Complete a workflow run' },
      { name: 'Fail Phase', value: 'failPhase', description: 'Fail a phase; the run fails and gets a rollback plan', action: 'Fail a phase' },
      { name: 'Fail Run', value: 'fail', description: 'Fail a run, with a rollback plan by default', action: 'Fail a workflow run' },
      { name: 'Get', value: 'get', description: 'Get a run with its phases', action: 'Get a workflow run' },
      { name: 'Get Rollback Plan', value: 'getRollbackPlan', description: 'The steps that undo a failed run', action: 'Get a rollback plan' },
      { name: 'Mark Rollback Step', value: 'markRollbackStep', description: 'Record a rollback step as done or failed', action: 'Mark a rollback step' },
      { name: 'Start', value: 'start', description: 'Start a run of a workflow definition', action: 'Start a workflow run' },
      { name: 'Start Phase', value: 'startPhase', description: 'Start a phase of a run', action: 'Start a phase' },
    ],
    default: 'start',
  },
  ...start.description,
  ...get.description,
  ...startPhase.description,
  ...completePhase.description,
  ...failPhase.description,
  ...complete.description,
  ...fail.description,
  ...getRollbackPlan.description,
  ...markRollbackStep.description,
];
