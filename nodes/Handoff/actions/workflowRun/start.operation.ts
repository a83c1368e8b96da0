// Workflow Run → Start: POST /v1/runs, a run of a stored workflow definition.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, idempotencyKeyOption, jsonParameter, requiredString, stringFields } from '../common.ts';
import { runResource } from './fields.ts';

const properties: INodeProperties[] = [
  {
    displayName: 'Workflow ID',
    name: 'workflowId',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. build-k8s-cluster',
    description: 'The workflow_id of a definition stored in the Cortex service',
  },
  {
    displayName: 'Parameters (JSON)',
    name: 'parameters',
    type: 'json',
    default: '{}',
    description: 'The run\'s parameters, e.g. {"cluster_name": "prod", "node_count": 3}',
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      {
        displayName: 'Concurrency Key',
        name: 'concurrencyKey',
        type: 'string',
        default: '',
        placeholder: 'e.g. cluster:prod',
        description: 'At most one running run per key: a second start with the same key fails while the first runs',
      },
      {
        displayName: 'Dry Run',
        name: 'dryRun',
        type: 'boolean',
        default: false,
        description: 'Whether the run is a rehearsal (left out of the duration metrics)',
      },
      idempotencyKeyOption,
      {
        displayName: 'Version',
        name: 'version',
        type: 'string',
        default: '',
        placeholder: 'e.g. 1.0.0',
        description: 'Definition version; the latest stored one when empty',
      },
    ],
  },
];

export const description = updateDisplayOptions(runResource('start'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
  const body: IDataObject = {
    workflow_id: requiredString(this, 'workflowId', itemIndex, 'Workflow ID'),
    parameters: jsonParameter(this, 'parameters', itemIndex, 'Parameters (JSON)'),
    ...stringFields(options, [
      ['version', 'version'],
      ['concurrencyKey', 'concurrency_key'],
    ]),
  };
  if (options.dryRun === true) body.dry_run = true;
  return await cortexRequest(this, {
    method: 'POST',
    path: '/v1/runs',
    body,
    headers: idempotencyHeaders(this, itemIndex, options.idempotencyKey as string | undefined),
    itemIndex,
  });
}
