// Workflow Run → Fail Phase: the phase failed, so the run fails and gets a rollback plan.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { errorFields, errorInfo, idempotencyHeaders, requiredString, segment } from '../common.ts';
import { phaseIdField, runIdField, runResource } from './fields.ts';

export const description = updateDisplayOptions(runResource('failPhase'), [runIdField, phaseIdField, ...errorFields]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  const phaseId = requiredString(this, 'phaseId', itemIndex, 'Phase ID');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/runs/${segment(runId)}/phases/${segment(phaseId)}/fail`,
    body: { error: errorInfo(this, itemIndex) },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
