// The Metrics resource: workflow stats and contractor performance, in the seed's shapes.

import type { INodeProperties } from 'n8n-workflow';
import * as contractorPerformance from './contractorPerformance.operation.ts';
import * as workflowStats from './workflowStats.operation.ts';

export { contractorPerformance, workflowStats };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['metrics'] } },
    options: [
      {
        name: 'Contractor Performance',
        value: 'contractorPerformance',
        description: 'Handoff time, error rate and common errors of a contractor',
        action: 'Get contractor performance',
      },
      {
        name: 'Workflow Stats',
        value: 'workflowStats',
        description: 'Executions, success rate and durations of a workflow',
        action: 'Get workflow stats',
      },
    ],
    default: 'workflowStats',
  },
  ...workflowStats.description,
  ...contractorPerformance.description,
];
