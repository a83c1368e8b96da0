import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../shared.ts';
import * as getLog from './getLog.operation.ts';
import * as getStatus from './getStatus.operation.ts';
import * as wait from './wait.operation.ts';

export const operations: Record<string, Operation> = { getLog, getStatus, wait };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['task'] } },
    options: [
      { name: 'Get Log', value: 'getLog', action: 'Get a task log', description: 'Log lines of a task' },
      { name: 'Get Status', value: 'getStatus', action: 'Get a task status', description: 'Whether a task is running, and how it ended' },
      { name: 'Wait', value: 'wait', action: 'Wait for a task', description: 'Wait until a task ends: OK, OK with warnings, or an error' },
    ],
    default: 'wait',
  },
  ...getStatus.description,
  ...getLog.description,
  ...wait.description,
];
