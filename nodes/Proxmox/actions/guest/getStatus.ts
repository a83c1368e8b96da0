import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { forOperation, guestField, guestPath, guestRef, nodeField, optionsField, settings, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** GET /nodes/{node}/{qemu|lxc}/{vmid}/status/current. */
export function makeGetStatus(resource: GuestResource): Operation {
  const description: INodeProperties[] = forOperation(resource, 'getStatus', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    optionsField({}),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const status = await ctx.client.get<IDataObject>(guestPath(ref, '/status/current'), undefined, s);
    return { node: ref.node, ...status, vmid: ref.vmid };
  }

  return { description, execute };
}
