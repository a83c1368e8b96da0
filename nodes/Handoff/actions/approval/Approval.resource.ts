// The Approval resource: read and withdraw the approvals an Approval Gate (or anyone) created,
// and record an approver's decision with the admin token (chat buttons).

import type { INodeProperties } from 'n8n-workflow';
import * as cancel from './cancel.operation.ts';
import * as get from './get.operation.ts';
import * as getAll from './getAll.operation.ts';
import * as recordDecision from './recordDecision.operation.ts';

export { cancel, get, getAll, recordDecision };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['approval'] } },
    options: [
      { name: 'Cancel', value: 'cancel', description: 'Withdraw a pending approval you created', action: 'Cancel an approval' },
      { name: 'Get', value: 'get', description: 'Get an approval with its decisions', action: 'Get an approval' },
      { name: 'Get Many', value: 'getAll', description: 'List approvals', action: 'Get many approvals' },
      {
        name: 'Record Decision',
        value: 'recordDecision',
        description: 'Record an approver\'s approve or reject, e.g. from a chat button (needs the admin token in the Cortex credential)',
        action: 'Record an approval decision',
        // Not offered to AI agents: a decision stands for a person's approval, never a model's.
        displayOptions: { show: { '@tool': [false] } },
      },
    ],
    default: 'get',
  },
  ...get.description,
  ...getAll.description,
  ...cancel.description,
  ...recordDecision.description,
];
