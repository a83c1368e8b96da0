// Handoff → Complete: the receiver finishes a claimed handoff with its result (in_progress → completed).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, jsonParameter, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

const properties: INodeProperties[] = [
  handoffIdField,
  {
    displayName: 'Result (JSON)',
    name: 'result',
    type: 'json',
    default: '{}',
    description: 'What the work produced, e.g. {"kubeconfig_secret": "k8s-prod"}; the sender gets it',
  },
];

export const description = updateDisplayOptions(handoffResource('complete'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  const result = jsonParameter(this, 'result', itemIndex, 'Result (JSON)');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/handoffs/${segment(id)}/complete`,
    body: { result },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
