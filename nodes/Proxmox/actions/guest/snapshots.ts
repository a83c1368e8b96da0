// Snapshot operations: create, list, roll back, delete (…/snapshot[/{snapname}[/rollback]]).

import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { isSnapshotName } from '../../transport/encode.ts';
import { messageMatches } from '../../transport/errors.ts';
import { guestTask } from './task.ts';
import {
  badParameter, forOperation, guestField, guestPath, guestRef, nodeField, optionsField, settings,
  type GuestResource, type Operation, type OperationContext,
} from '../shared.ts';

function snapshotName(this: IExecuteFunctions, itemIndex: number): string {
  const name = String(this.getNodeParameter('snapshotName', itemIndex)).trim();
  if (!isSnapshotName(name)) {
    throw badParameter.call(this, itemIndex, `"${name}" is not a valid snapshot name`, 'A letter first, then letters, digits, "-" or "_"; 2 to 40 characters; not "current".');
  }
  return name;
}

const nameField = (description: string): INodeProperties => ({
  displayName: 'Snapshot Name',
  name: 'snapshotName',
  type: 'string',
  default: '',
  required: true,
  placeholder: 'before-upgrade',
  description,
});

export function makeCreateSnapshot(resource: GuestResource): Operation {
  const fields: INodeProperties[] = [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    nameField('Name of the new snapshot'),
    { displayName: 'Description', name: 'snapshotDescription', type: 'string', default: '' },
  ];
  if (resource === 'vm') fields.push({ displayName: 'Include RAM', name: 'vmstate', type: 'boolean', default: false, description: 'Whether to save the memory of a running VM too' });
  fields.push(optionsField({ changing: true, task: true, lockable: true }));
  const description = forOperation(resource, 'createSnapshot', fields);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const snapname = snapshotName.call(this, itemIndex);
    const params: Record<string, string | boolean> = { snapname };
    const text = String(this.getNodeParameter('snapshotDescription', itemIndex, '') ?? '');
    if (text) params.description = text;
    if (resource === 'vm' && this.getNodeParameter('vmstate', itemIndex, false) === true) params.vmstate = true;
    return await guestTask.call(this, itemIndex, ctx, resource, {
      method: 'POST',
      suffix: '/snapshot',
      params,
      // After a lost answer, "already used" means the first attempt made it.
      alreadyDone: (error) => messageMatches(error, new RegExp(`snapshot name '${snapname}' already used`)),
      extra: { snapshot: snapname },
    });
  }

  return { description, execute };
}

export function makeListSnapshots(resource: GuestResource): Operation {
  const description = forOperation(resource, 'listSnapshots', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    { displayName: 'Include Current State', name: 'includeCurrent', type: 'boolean', default: false, description: 'Whether to include the "current" entry (You are here!)' },
    optionsField({}),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
    const s = settings.call(this, itemIndex);
    const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const includeCurrent = this.getNodeParameter('includeCurrent', itemIndex, false) === true;
    const list = (await ctx.client.get<IDataObject[]>(guestPath(ref, '/snapshot'), undefined, s)) ?? [];
    return list.filter((snap) => includeCurrent || snap.name !== 'current').map((snap) => ({ vmid: ref.vmid, node: ref.node, ...snap }));
  }

  return { description, execute };
}

export function makeRollbackSnapshot(resource: GuestResource): Operation {
  const description = forOperation(resource, 'rollbackSnapshot', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    nameField('Snapshot to roll back to'),
    { displayName: 'Start After Rollback', name: 'startAfter', type: 'boolean', default: false },
    optionsField({ changing: true, task: true, lockable: true }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const snapname = snapshotName.call(this, itemIndex);
    const start = this.getNodeParameter('startAfter', itemIndex, false) === true;
    return await guestTask.call(this, itemIndex, ctx, resource, {
      method: 'POST',
      suffix: `/snapshot/${encodeURIComponent(snapname)}/rollback`,
      ...(start ? { params: { start: true } } : {}),
      extra: { snapshot: snapname },
    });
  }

  return { description, execute };
}

export function makeDeleteSnapshot(resource: GuestResource): Operation {
  const description = forOperation(resource, 'deleteSnapshot', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    nameField('Snapshot to delete'),
    optionsField({
      changing: true,
      task: true,
      lockable: true,
      extra: [{ displayName: 'Force', name: 'force', type: 'boolean', default: false, description: 'Whether to remove it from the configuration even if removing the disk snapshots fails' }],
    }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const snapname = snapshotName.call(this, itemIndex);
    const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
    return await guestTask.call(this, itemIndex, ctx, resource, {
      method: 'DELETE',
      suffix: `/snapshot/${encodeURIComponent(snapname)}`,
      ...(options.force === true ? { params: { force: true } } : {}),
      alreadyDone: (error) => messageMatches(error, new RegExp(`snapshot '${snapname}' does not exist`)),
      extra: { snapshot: snapname },
    });
  }

  return { description, execute };
}
