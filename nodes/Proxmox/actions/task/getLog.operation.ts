import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { forOperation, optionsField, settings, type OperationContext } from '../shared.ts';
import { upidField, upidFrom } from './upid.ts';

/** GET /nodes/{node}/tasks/{upid}/log?start=&limit=: the task's log lines. */
export const description = forOperation('task', 'getLog', [
  upidField,
  { displayName: 'Start Line', name: 'start', type: 'number', typeOptions: { minValue: 0 }, default: 0 },
  { displayName: 'Limit', name: 'limit', type: 'number', typeOptions: { minValue: 1 }, default: 50, description: 'Max number of log lines to return' },
  optionsField({}),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
  const { raw, upid } = upidFrom.call(this, itemIndex);
  const start = Number(this.getNodeParameter('start', itemIndex, 0) ?? 0);
  const limit = Number(this.getNodeParameter('limit', itemIndex, 50) ?? 50);
  const log = await ctx.client.getEnvelope<Array<{ n: number; t: string }>>(
    `/nodes/${encodeURIComponent(upid.node)}/tasks/${encodeURIComponent(raw)}/log`,
    { start, limit },
    settings.call(this, itemIndex),
  );
  return { upid: raw, start, total: log.total ?? null, lines: (log.data ?? []).map((line) => line.t) };
}
