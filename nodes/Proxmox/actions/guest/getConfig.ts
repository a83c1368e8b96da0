import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { forOperation, guestField, guestPath, guestRef, nodeField, optionsField, settings, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** GET /nodes/{node}/{qemu|lxc}/{vmid}/config (with `digest`; cloud-init sshkeys decoded for reading). */
export function makeGetConfig(resource: GuestResource): Operation {
  const description: INodeProperties[] = forOperation(resource, 'getConfig', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    {
      displayName: 'Snapshot',
      name: 'snapshot',
      type: 'string',
      default: '',
      description: 'Name of a snapshot to read the configuration of (empty: the current one)',
    },
    optionsField({}),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const snapshot = String(this.getNodeParameter('snapshot', itemIndex, '') ?? '').trim();
    const config = await ctx.client.get<IDataObject>(guestPath(ref, '/config'), snapshot ? { snapshot } : undefined, s);
    const out: IDataObject = { vmid: ref.vmid, node: ref.node, ...config };
    if (typeof config?.sshkeys === 'string') {
      try {
        out.sshKeysDecoded = decodeURIComponent(config.sshkeys).split('\n').filter(Boolean);
      } catch {
        // left as Proxmox stores it
      }
    }
    return out;
  }

  return { description, execute };
}
