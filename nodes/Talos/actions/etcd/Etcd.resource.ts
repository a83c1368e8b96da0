import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../common.ts';
import * as listMembers from './listMembers.operation.ts';
import * as recover from './recover.operation.ts';
import * as removeMember from './removeMember.operation.ts';
import * as snapshot from './snapshot.operation.ts';

export const operations: Record<string, Operation> = { listMembers, recover, removeMember, snapshot };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['etcd'] } },
    options: [
      { name: 'List Members', value: 'listMembers', action: 'List etcd members' },
      {
        name: 'Recover From Snapshot',
        value: 'recover',
        action: 'Recover etcd from a snapshot',
        description: 'Bootstrap a control plane node whose etcd is empty from a snapshot (disaster recovery)',
      },
      { name: 'Remove Member', value: 'removeMember', action: 'Remove an etcd member', description: 'Remove a member whose node is gone' },
      { name: 'Snapshot', value: 'snapshot', action: 'Take an etcd snapshot', description: 'Stream an etcd snapshot into a file' },
    ],
    default: 'listMembers',
  },
  ...Object.values(operations).flatMap((operation) => operation.description),
];
