// Handoff → Create: POST /v1/handoffs, with an Idempotency-Key so an n8n retry never creates two.

import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, idempotencyKeyOption, jsonParameter, optionalString, requiredString, stringFields } from '../common.ts';
import { handoffResource } from './fields.ts';

const properties: INodeProperties[] = [
  {
    displayName: 'From Contractor',
    name: 'fromContractor',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. infrastructure-contractor',
    description: 'The contractor handing the work over. A contractor credential may only send from itself.',
  },
  {
    displayName: 'To Contractor',
    name: 'toContractor',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. talos-contractor',
    description: 'The contractor that should pick the work up',
  },
  {
    displayName: 'Task ID',
    name: 'taskId',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. build-k8s-prod',
    description: 'What the work is about; handoffs can be listed by it',
  },
  {
    displayName: 'Data',
    name: 'dataMode',
    type: 'options',
    default: 'fields',
    options: [
      { name: 'Define Below', value: 'fields', description: 'Name and value pairs' },
      { name: 'JSON', value: 'json', description: 'One JSON object' },
      { name: 'None', value: 'none', description: 'Send no data' },
    ],
    description: 'How to give the data the receiving contractor needs',
  },
  {
    displayName: 'Data Fields',
    name: 'dataFields',
    type: 'fixedCollection',
    typeOptions: { multipleValues: true },
    placeholder: 'Add Field',
    default: {},
    displayOptions: { show: { dataMode: ['fields'] } },
    options: [
      {
        displayName: 'Field',
        name: 'field',
        values: [
          { displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'e.g. vm_ids' },
          {
            displayName: 'Value',
            name: 'value',
            type: 'string',
            default: '',
            description: 'Text, or an expression for other types, e.g. {{ [201, 202] }}',
          },
        ],
      },
    ],
  },
  {
    displayName: 'Data (JSON)',
    name: 'dataJson',
    type: 'json',
    default: '{}',
    displayOptions: { show: { dataMode: ['json'] } },
    description: 'A JSON object, e.g. {"vm_ids": [201, 202]}',
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      {
        displayName: 'Claim Timeout (Seconds)',
        name: 'claimTimeout',
        type: 'number',
        typeOptions: { minValue: 0, numberPrecision: 3 },
        default: 300,
        description: 'Seconds the receiver has to claim it before it fails with handoff_claim_timeout',
      },
      {
        displayName: 'Completion Timeout (Seconds)',
        name: 'completionTimeout',
        type: 'number',
        typeOptions: { minValue: 0, numberPrecision: 3 },
        default: 1800,
        description: 'Seconds from the claim to completion before it fails with handoff_completion_timeout',
      },
      {
        displayName: 'Handoff ID',
        name: 'handoffId',
        type: 'string',
        default: '',
        description: 'Your own ID for the handoff; generated when empty',
      },
      {
        displayName: 'Heartbeat Timeout (Seconds)',
        name: 'heartbeatTimeout',
        type: 'number',
        typeOptions: { minValue: 0, numberPrecision: 3 },
        default: 120,
        description: 'Longest gap between heartbeats once claimed, before it fails with handoff_heartbeat_timeout',
      },
      idempotencyKeyOption,
      {
        displayName: 'Phase ID',
        name: 'phaseId',
        type: 'string',
        default: '',
        description: 'The phase of the workflow run this handoff belongs to',
      },
      {
        displayName: 'Run ID',
        name: 'runId',
        type: 'string',
        default: '',
        description: 'The workflow run this handoff belongs to',
      },
    ],
  },
];

export const description = updateDisplayOptions(handoffResource('create'), properties);

function dataFromFields(context: IExecuteFunctions, itemIndex: number): IDataObject {
  const collection = context.getNodeParameter('dataFields', itemIndex, {}) as { field?: Array<{ name?: string; value?: unknown }> };
  const data: IDataObject = {};
  for (const [position, field] of (collection.field ?? []).entries()) {
    const name = optionalString(field.name);
    if (!name) {
      throw new NodeOperationError(context.getNode(), `Data Fields: field ${position + 1} has no name`, { itemIndex });
    }
    data[name] = (field.value ?? '') as IDataObject[string];
  }
  return data;
}

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const mode = this.getNodeParameter('dataMode', itemIndex, 'fields') as string;
  const data = mode === 'json' ? jsonParameter(this, 'dataJson', itemIndex, 'Data (JSON)') : mode === 'fields' ? dataFromFields(this, itemIndex) : undefined;
  const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
  const body: IDataObject = {
    from_contractor: requiredString(this, 'fromContractor', itemIndex, 'From Contractor'),
    to_contractor: requiredString(this, 'toContractor', itemIndex, 'To Contractor'),
    task_id: requiredString(this, 'taskId', itemIndex, 'Task ID'),
    ...(data !== undefined ? { data } : {}),
    ...stringFields(options, [
      ['handoffId', 'handoff_id'],
      ['runId', 'run_id'],
      ['phaseId', 'phase_id'],
    ]),
  };
  for (const [option, field] of [
    ['claimTimeout', 'claim_timeout'],
    ['completionTimeout', 'completion_timeout'],
    ['heartbeatTimeout', 'heartbeat_timeout'],
  ] as const) {
    const seconds = options[option];
    // 0 (or empty) means no deadline of that kind.
    if (typeof seconds === 'number' && seconds > 0) body[field] = seconds;
  }
  return await cortexRequest(this, {
    method: 'POST',
    path: '/v1/handoffs',
    body,
    headers: idempotencyHeaders(this, itemIndex, options.idempotencyKey as string | undefined),
    itemIndex,
  });
}
