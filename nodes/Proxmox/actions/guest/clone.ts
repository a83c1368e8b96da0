import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { GuestRef } from '../../transport/client.ts';
import { isDnsName, type ApiParams } from '../../transport/encode.ts';
import { withNextVmid } from '../../transport/vmid.ts';
import { applyCloudInit } from './cloudInit.ts';
import { cloudInitFields, cloudInitParams } from './fields.ts';
import { ownedAlready } from './owned.ts';
import {
  badParameter, dryRun, forOperation, guestField, guestPath, guestRef, KIND, LABEL, nodeField, optionsField, settings, taskOutput,
  type GuestResource, type Operation, type OperationContext, type PlannedRequest,
} from '../shared.ts';

/**
 * POST …/{vmid}/clone into a given or the next free VMID. Parallel clones of one template
 * contend for the template's lock file: lock timeouts are retried with jittered backoff, VMID
 * collisions move to the next id. Optionally writes cloud-init to the clone (and regenerates
 * its drive) and starts it.
 */
export function makeClone(resource: GuestResource): Operation {
  const label = LABEL[resource];
  const nameKey = resource === 'vm' ? 'name' : 'hostname';
  const fields: INodeProperties[] = [
    nodeField({ auto: true, description: `Node of the source ${label.toLowerCase()}; Auto-Detect looks it up` }),
    guestField(resource, resource === 'vm' ? 'searchVmTemplates' : 'searchContainerTemplates', `Source ${label}`),
    {
      displayName: 'New VM ID',
      name: 'newVmId',
      type: 'number',
      typeOptions: { minValue: 0, maxValue: 999_999_999 },
      default: 0,
      description: '0: the next free VMID (safe when parallel clones race for it)',
    },
    { displayName: resource === 'vm' ? 'Name' : 'Hostname', name: 'cloneName', type: 'string', default: '', description: 'Name of the clone (a DNS name)' },
    {
      displayName: 'Full Clone',
      name: 'full',
      type: 'boolean',
      default: true,
      description: 'Whether to copy the disks (independent of the template). Off: a linked clone, only possible from a template.',
    },
    {
      displayName: 'Additional Fields',
      name: 'additionalFields',
      type: 'collection',
      placeholder: 'Add Field',
      default: {},
      options: [
        {
          displayName: 'Target Node Name or ID',
          name: 'targetNode',
          type: 'options',
          typeOptions: { loadOptionsMethod: 'getNodes' },
          default: '',
          description: 'Node for the clone (the source must be on shared storage). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
        },
        { displayName: 'Target Storage', name: 'storage', type: 'string', default: '', description: 'Storage for the full clone’s disks (default: the source’s)' },
        { displayName: 'Pool', name: 'pool', type: 'string', default: '' },
        { displayName: 'Description', name: 'description', type: 'string', default: '' },
        { displayName: 'From Snapshot', name: 'snapname', type: 'string', default: '' },
        { displayName: 'Bandwidth Limit (KiB/s)', name: 'bwlimit', type: 'number', typeOptions: { minValue: 0 }, default: 0 },
        ...(resource === 'vm'
          ? [{ displayName: 'Disk Format', name: 'format', type: 'options' as const, options: ['raw', 'qcow2', 'vmdk'].map((f) => ({ name: f, value: f })), default: 'raw', description: 'Only for full clones on file storage' }]
          : []),
        { displayName: 'Start After Clone', name: 'start', type: 'boolean', default: false },
      ],
    },
  ];
  if (resource === 'vm') {
    fields.push({
      displayName: 'Cloud-Init',
      name: 'cloudInit',
      type: 'collection',
      placeholder: 'Add Cloud-Init Setting',
      default: {},
      description: 'Written to the clone once it exists, then its cloud-init drive is regenerated (before any start)',
      options: cloudInitFields(),
    });
  }
  fields.push(optionsField({ changing: true, task: true, lockable: true }));
  const description = forOperation(resource, 'clone', fields);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const extra = this.getNodeParameter('additionalFields', itemIndex, {}) as IDataObject;
    const name = String(this.getNodeParameter('cloneName', itemIndex, '') ?? '').trim();
    const full = this.getNodeParameter('full', itemIndex, true) === true;
    const requested = Number(this.getNodeParameter('newVmId', itemIndex, 0) ?? 0);
    const problems: string[] = [];
    if (!Number.isInteger(requested) || (requested !== 0 && (requested < 100 || requested > 999_999_999))) problems.push(`"${requested}" is not a VMID (100 to 999999999, or 0 for the next free one)`);
    if (name && !isDnsName(name)) problems.push(`${nameKey} "${name}" must be a DNS name (letters, digits, '-', '.')`);
    if (!full && extra.storage) problems.push('a target storage needs a full clone');
    const cloudInit = resource === 'vm' ? cloudInitParams(this.getNodeParameter('cloudInit', itemIndex, {}) as IDataObject, problems) : {};
    if (problems.length) throw badParameter.call(this, itemIndex, `Invalid clone parameters`, problems.join('\n'));

    const source = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const targetNode = String(extra.targetNode || source.node);
    const params = (newid: number): ApiParams => ({
      newid,
      [nameKey]: name || undefined,
      full,
      target: targetNode !== source.node ? targetNode : undefined,
      storage: (extra.storage as string) || undefined,
      pool: (extra.pool as string) || undefined,
      description: (extra.description as string) || undefined,
      snapname: (extra.snapname as string) || undefined,
      bwlimit: Number(extra.bwlimit ?? 0) > 0 ? Number(extra.bwlimit) : undefined,
      format: resource === 'vm' && full && extra.format && extra.format !== 'raw' ? String(extra.format) : undefined,
    });
    const target = (vmid: number): GuestRef => ({ kind: KIND[resource], node: targetNode, vmid });
    const wantsCloudInit = Object.keys(cloudInit).length > 0;
    const start = extra.start === true;
    const clonePath = guestPath(source, '/clone');

    if (s.dryRun) {
      const vmid = requested || (await ctx.vmids.next(ctx.client, s));
      const requests: PlannedRequest[] = [{ method: 'POST', path: clonePath, params: params(vmid) }];
      if (wantsCloudInit) requests.push({ method: 'PUT', path: guestPath(target(vmid), '/config'), params: cloudInit }, { method: 'PUT', path: guestPath(target(vmid), '/cloudinit') });
      if (start) requests.push({ method: 'POST', path: guestPath(target(vmid), '/status/start') });
      return dryRun(requests, { vmid, node: targetNode, sourceVmid: source.vmid });
    }

    const { vmid, value: outcome, collisions } = await withNextVmid(ctx.vmids, ctx.client, s, requested || undefined, (vmid) =>
      ctx.client.runTask(
        {
          method: 'POST',
          path: clonePath,
          params: params(vmid),
          guest: source,
          alreadyDone: ownedAlready(ctx.client, target(vmid), { ...(name ? { name } : {}), fixedId: requested > 0 }, s),
        },
        s,
      ),
    );
    const out = taskOutput(outcome, {
      vmid,
      node: targetNode,
      ...(name ? { [nameKey]: name } : {}),
      sourceVmid: source.vmid,
      full,
      ...(collisions ? { vmidCollisions: collisions } : {}),
    });
    const ref = target(vmid);
    if (wantsCloudInit) {
      // Waits for `lock: clone` to go when the clone task was not waited for.
      await applyCloudInit(ctx.client, ref, cloudInit, s);
      out.cloudInitApplied = true;
    }
    if (start) {
      const started = await ctx.client.runTask({ method: 'POST', path: guestPath(ref, '/status/start'), guest: ref }, s);
      out.start = taskOutput(started);
    }
    return out;
  }

  return { description, execute };
}
