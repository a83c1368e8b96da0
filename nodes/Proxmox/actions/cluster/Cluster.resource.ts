import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../shared.ts';
import * as getNextId from './getNextId.operation.ts';
import * as getResources from './getResources.operation.ts';
import * as listNodes from './listNodes.operation.ts';

export const operations: Record<string, Operation> = { getNextId, getResources, listNodes };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['cluster'] } },
    options: [
      { name: 'Get Next Free VM ID', value: 'getNextId', action: 'Get the next free VM ID', description: 'Lowest free VMID, or whether a given one is free' },
      { name: 'Get Resources', value: 'getResources', action: 'Get cluster resources', description: 'Guests, nodes and storage of the whole cluster' },
      { name: 'List Nodes', value: 'listNodes', action: 'List cluster nodes', description: 'Nodes with status and load' },
    ],
    default: 'getResources',
  },
  ...listNodes.description,
  ...getResources.description,
  ...getNextId.description,
];
