import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../common.ts';
import * as list from './list.operation.ts';
import * as restart from './restart.operation.ts';

export const operations: Record<string, Operation> = { list, restart };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['service'] } },
    options: [
      { name: 'List', value: 'list', action: 'List services of a node' },
      { name: 'Restart', value: 'restart', action: 'Restart a service on a node' },
    ],
    default: 'list',
  },
  ...Object.values(operations).flatMap((operation) => operation.description),
];
