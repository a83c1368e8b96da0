import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { applyCloudInit } from './cloudInit.ts';
import { dryRun, forOperation, guestField, guestPath, guestRef, nodeField, optionsField, settings, type Operation, type OperationContext } from '../shared.ts';

/** PUT /nodes/{node}/qemu/{vmid}/cloudinit: rebuild the cloud-init drive from the current settings. */
export function makeRegenerateCloudInit(): Operation {
  const description: INodeProperties[] = forOperation('vm', 'regenerateCloudInit', [
    nodeField({ auto: true }),
    guestField('vm', 'searchVms'),
    optionsField({ changing: true, lockable: true }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const ref = await guestRef.call(this, itemIndex, 'vm', ctx.client, s);
    if (s.dryRun) return dryRun([{ method: 'PUT', path: guestPath(ref, '/cloudinit') }], { vmid: ref.vmid, node: ref.node });
    await applyCloudInit(ctx.client, ref, {}, s);
    return { vmid: ref.vmid, node: ref.node, status: 'OK', cloudInitRegenerated: true };
  }

  return { description, execute };
}
