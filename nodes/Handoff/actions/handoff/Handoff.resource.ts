// The Handoff resource: its operations and their fields.

import type { INodeProperties } from 'n8n-workflow';
import * as cancel from './cancel.operation.ts';
import * as claim from './claim.operation.ts';
import * as complete from './complete.operation.ts';
import * as create from './create.operation.ts';
import * as fail from './fail.operation.ts';
import * as get from './get.operation.ts';
import * as getAll from './getAll.operation.ts';
import * as heartbeat from './heartbeat.operation.ts';
import * as waitForCompletion from './waitForCompletion.operation.ts';

export { cancel, claim, complete, create, fail, get, getAll, heartbeat, waitForCompletion };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['handoff'] } },
    options: [
      { name: 'Cancel', value: 'cancel', description: 'Withdraw a handoff you sent', action: 'Cancel a handoff' },
      { name: 'Claim', value: 'claim', description: 'Take a pending handoff addressed to you', action: 'Claim a handoff' },
      { name: 'Complete', value: 'complete', description: 'Finish a claimed handoff with its result', action: 'Complete a handoff' },
      { name: 'Create', value: 'create', description: 'Hand work over to another contractor', action: 'Create a handoff' },
      { name: 'Fail', value: 'fail', description: 'Give up on a handoff with an error', action: 'Fail a handoff' },
      { name: 'Get', value: 'get', description: 'Get a handoff', action: 'Get a handoff' },
      { name: 'Get Many', value: 'getAll', description: 'List handoffs', action: 'Get many handoffs' },
      { name: 'Heartbeat', value: 'heartbeat', description: 'Report that work on a claimed handoff goes on', action: 'Send a handoff heartbeat' },
      {
        name: 'Wait for Completion',
        value: 'waitForCompletion',
        description: 'Pause until the handoff is completed, failed or timed out',
        action: 'Wait for a handoff to finish',
        // Not offered to AI agents (the node's Tool variant): it pauses the whole execution.
        displayOptions: { show: { '@tool': [false] } },
      },
    ],
    default: 'create',
  },
  ...create.description,
  ...get.description,
  ...getAll.description,
  ...claim.description,
  ...heartbeat.description,
  ...complete.description,
  ...fail.description,
  ...cancel.description,
  ...waitForCompletion.description,
];
