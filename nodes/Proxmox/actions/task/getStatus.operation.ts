import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { forOperation, optionsField, settings, type OperationContext } from '../shared.ts';
import { upidField, upidFrom } from './upid.ts';

/** GET /nodes/{node}/tasks/{upid}/status: running or stopped (with exitstatus). */
export const description = forOperation('task', 'getStatus', [upidField, optionsField({})]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
  const { raw, upid } = upidFrom.call(this, itemIndex);
  const status = await ctx.client.get<IDataObject>(`/nodes/${encodeURIComponent(upid.node)}/tasks/${encodeURIComponent(raw)}/status`, undefined, settings.call(this, itemIndex));
  return { ...status, upid: raw, finished: status?.status === 'stopped' };
}
