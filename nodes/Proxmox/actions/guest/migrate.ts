import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { guestTask } from './task.ts';
import { badParameter, forOperation, guestField, nodeField, optionsField, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** POST …/migrate to another cluster node (online for running VMs; restart mode for containers). */
export function makeMigrate(resource: GuestResource): Operation {
  const fields: INodeProperties[] = [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    nodeField({ auto: false, name: 'targetNode', displayName: 'Target Node', description: 'Node to move the guest to' }),
  ];
  if (resource === 'vm') {
    fields.push(
      { displayName: 'Online', name: 'online', type: 'boolean', default: true, description: 'Whether to live-migrate a running VM (ignored when stopped)' },
      { displayName: 'With Local Disks', name: 'withLocalDisks', type: 'boolean', default: false, description: 'Whether to copy local disks along (live storage migration)' },
    );
  } else {
    fields.push({ displayName: 'Restart Mode', name: 'restart', type: 'boolean', default: true, description: 'Whether to shut a running container down, move it, and start it again' });
  }
  fields.push(
    { displayName: 'Target Storage', name: 'targetStorage', type: 'string', default: '', description: 'Storage (or source:target mapping) on the target node; empty keeps the same storage IDs' },
    optionsField({ changing: true, task: true, lockable: true }),
  );
  const description = forOperation(resource, 'migrate', fields);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const target = String(this.getNodeParameter('targetNode', itemIndex, '') ?? '').trim();
    if (!target) throw badParameter.call(this, itemIndex, 'Choose a target node');
    const targetStorage = String(this.getNodeParameter('targetStorage', itemIndex, '') ?? '').trim();
    return await guestTask.call(this, itemIndex, ctx, resource, (ref) => {
      if (ref.node === target) throw badParameter.call(this, itemIndex, `${ref.kind === 'qemu' ? 'VM' : 'Container'} ${ref.vmid} is already on ${target}`);
      const params: Record<string, string | boolean> = { target };
      if (resource === 'vm') {
        if (this.getNodeParameter('online', itemIndex, true) === true) params.online = true;
        if (this.getNodeParameter('withLocalDisks', itemIndex, false) === true) params['with-local-disks'] = true;
        if (targetStorage) params.targetstorage = targetStorage;
      } else {
        if (this.getNodeParameter('restart', itemIndex, true) === true) params.restart = true;
        if (targetStorage) params['target-storage'] = targetStorage;
      }
      return { method: 'POST', suffix: '/migrate', params, extra: { sourceNode: ref.node, targetNode: target } };
    });
  }

  return { description, execute };
}
