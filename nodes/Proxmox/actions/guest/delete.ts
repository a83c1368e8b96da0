import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { isMissing } from '../../transport/errors.ts';
import { dryRun, forOperation, guestField, guestPath, guestRef, LABEL, nodeField, optionsField, settings, taskOutput, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** DELETE /nodes/{node}/{qemu|lxc}/{vmid} (purge by default); optionally stops a running guest first. */
export function makeDelete(resource: GuestResource): Operation {
  const label = LABEL[resource];
  const description: INodeProperties[] = forOperation(resource, 'delete', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    optionsField({
      changing: true,
      task: true,
      lockable: true,
      extra: [
        { displayName: 'Purge', name: 'purge', type: 'boolean', default: true, description: 'Whether to also remove the guest from backup jobs, replication and HA' },
        { displayName: 'Destroy Unreferenced Disks', name: 'destroyUnreferencedDisks', type: 'boolean', default: false, description: 'Whether to also destroy disks with this VMID that the configuration does not reference' },
        { displayName: 'Stop If Running', name: 'stopIfRunning', type: 'boolean', default: false, description: `Whether to stop a running ${label.toLowerCase()} first (Proxmox refuses to delete it otherwise)` },
      ],
    }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
    const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const params = { purge: options.purge !== false, 'destroy-unreferenced-disks': options.destroyUnreferencedDisks === true };
    const base = { vmid: ref.vmid, node: ref.node };
    if (s.dryRun) {
      return dryRun(
        [...(options.stopIfRunning === true ? [{ method: 'POST' as const, path: guestPath(ref, '/status/stop') }] : []), { method: 'DELETE', path: guestPath(ref), params }],
        base,
      );
    }
    let stopped = false;
    if (options.stopIfRunning === true) {
      const status = await ctx.client.get<IDataObject>(guestPath(ref, '/status/current'), undefined, s);
      if (status?.status === 'running') {
        await ctx.client.runTask({ method: 'POST', path: guestPath(ref, '/status/stop'), guest: ref }, { ...s, waitForTask: true });
        stopped = true;
      }
    }
    // A retry that finds the guest gone means the lost first attempt deleted it.
    const outcome = await ctx.client.runTask({ method: 'DELETE', path: guestPath(ref), params, guest: ref, alreadyDone: isMissing }, s);
    return taskOutput(outcome, { ...base, deleted: true, ...(stopped ? { stoppedFirst: true } : {}) });
  }

  return { description, execute };
}
