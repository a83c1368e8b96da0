import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { ProxmoxError } from '../../transport/errors.ts';
import { settle } from '../../transport/retry.ts';
import { badParameter, forOperation, optionsField, settings, type OperationContext } from '../shared.ts';

/**
 * GET /cluster/nextid: the lowest free VMID — reserved for nobody, so Create and Clone with
 * "VM ID 0" are the race-safe way to use it. With a VMID: whether that one is free.
 */
export const description = forOperation('cluster', 'getNextId', [
  {
    displayName: 'Check VM ID',
    name: 'checkVmId',
    type: 'number',
    typeOptions: { minValue: 0, maxValue: 999_999_999 },
    default: 0,
    description: 'A VMID to check instead (0: just return the next free one)',
  },
  optionsField({}),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
  const s = settings.call(this, itemIndex);
  const check = Number(this.getNodeParameter('checkVmId', itemIndex, 0) ?? 0);
  if (check === 0) return { vmid: Number(await ctx.client.get<string | number>('/cluster/nextid', undefined, s)) };
  if (!Number.isInteger(check) || check < 100) throw badParameter.call(this, itemIndex, `"${check}" is not a VMID (100 to 999999999)`);
  const result = await settle(ctx.client.get('/cluster/nextid', { vmid: check }, s));
  if (result.ok) return { vmid: check, available: true };
  const error = result.error;
  if (error instanceof ProxmoxError && error.details.httpCode === 400) {
    return { vmid: check, available: false, reason: error.details.paramErrors?.vmid ?? error.message };
  }
  throw error;
}
