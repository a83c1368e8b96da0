// Handoff → Heartbeat: report liveness (and progress) on a claimed handoff; moves its heartbeat deadline.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, jsonParameter, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

const properties: INodeProperties[] = [
  handoffIdField,
  {
    displayName: 'Progress (JSON)',
    name: 'progress',
    type: 'json',
    default: '{}',
    description: 'Optional progress to store on the handoff, e.g. {"percent": 40, "step": "bootstrap"}. An empty object leaves the stored progress as it is.',
  },
];

export const description = updateDisplayOptions(handoffResource('heartbeat'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  const progress = jsonParameter(this, 'progress', itemIndex, 'Progress (JSON)');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/handoffs/${segment(id)}/heartbeat`,
    body: Object.keys(progress).length > 0 ? { progress } : {},
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
