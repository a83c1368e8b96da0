// Workflow Run → Complete Phase: the phase is done, with its output (e.g. the handoff_data).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, jsonParameter, requiredString, segment } from '../common.ts';
import { phaseIdField, runIdField, runResource } from './fields.ts';

const properties: INodeProperties[] = [
  runIdField,
  phaseIdField,
  {
    displayName: 'Output (JSON)',
    name: 'output',
    type: 'json',
    default: '{}',
    description: 'What the phase produced, e.g. {"vm_ids": [201, 202, 203]}',
  },
];

export const description = updateDisplayOptions(runResource('completePhase'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  const phaseId = requiredString(this, 'phaseId', itemIndex, 'Phase ID');
  const output = jsonParameter(this, 'output', itemIndex, 'Output (JSON)');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/runs/${segment(runId)}/phases/${segment(phaseId)}/complete`,
    body: { output },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
