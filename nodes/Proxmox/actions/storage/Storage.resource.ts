import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../shared.ts';
import * as getContent from './getContent.operation.ts';
import * as list from './list.operation.ts';

export const operations: Record<string, Operation> = { getContent, list };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['storage'] } },
    options: [
      { name: 'Get Content', value: 'getContent', action: 'Get storage content', description: 'Volumes on a storage: images, ISOs, templates, backups' },
      { name: 'List', value: 'list', action: 'List storages', description: 'Storages of a node or of the cluster' },
    ],
    default: 'list',
  },
  ...list.description,
  ...getContent.description,
];
