import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { ApiParams } from '../../transport/encode.ts';
import { withNextVmid } from '../../transport/vmid.ts';
import { cloudInitFields, cloudInitParams, configParams, containerConfigFields, otherParametersField, otherParams, vmConfigFields } from './fields.ts';
import { ownedAlready } from './owned.ts';
import {
  badParameter, dryRun, forOperation, KIND, LABEL, nodeField, optionsField, settings, taskOutput,
  type GuestResource, type Operation, type OperationContext,
} from '../shared.ts';

/** POST /nodes/{node}/{qemu|lxc}: with a given VMID or the next free one (collisions → next id). */
export function makeCreate(resource: GuestResource): Operation {
  const label = LABEL[resource];
  const fields: INodeProperties[] = [
    nodeField({ auto: false }),
    {
      displayName: 'VM ID',
      name: 'newVmId',
      type: 'number',
      typeOptions: { minValue: 0, maxValue: 999_999_999 },
      default: 0,
      description: '0: the next free VMID (safe when several creates race for it)',
    },
  ];
  if (resource === 'container') {
    fields.push(
      {
        displayName: 'OS Template Name or ID',
        name: 'ostemplate',
        type: 'options',
        typeOptions: { loadOptionsMethod: 'getContainerTemplates', loadOptionsDependsOn: ['node'] },
        default: '',
        required: true,
        description: 'Container template volume, e.g. local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
      },
      { displayName: 'Root Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '' },
      { displayName: 'SSH Public Keys', name: 'sshPublicKeys', type: 'string', typeOptions: { rows: 3 }, default: '', description: 'One OpenSSH public key per line, for root' },
    );
  }
  fields.push({ displayName: 'Configuration', name: 'config', type: 'collection', placeholder: 'Add Setting', default: {}, options: resource === 'vm' ? vmConfigFields() : containerConfigFields() });
  if (resource === 'vm') fields.push({ displayName: 'Cloud-Init', name: 'cloudInit', type: 'collection', placeholder: 'Add Cloud-Init Setting', default: {}, options: cloudInitFields() });
  fields.push(
    otherParametersField(),
    optionsField({
      changing: true,
      task: true,
      extra: [
        { displayName: 'Pool', name: 'pool', type: 'string', default: '', description: 'Resource pool to add the guest to' },
        { displayName: 'Start After Create', name: 'start', type: 'boolean', default: false },
        ...(resource === 'container' ? [{ displayName: 'Unprivileged', name: 'unprivileged', type: 'boolean' as const, default: true }] : []),
      ],
    }),
  );
  const description = forOperation(resource, 'create', fields);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
    const node = String(this.getNodeParameter('node', itemIndex, '') ?? '').trim();
    if (!node) throw badParameter.call(this, itemIndex, 'Choose the node to create the guest on');
    const requested = Number(this.getNodeParameter('newVmId', itemIndex, 0) ?? 0);
    if (!Number.isInteger(requested) || (requested !== 0 && (requested < 100 || requested > 999_999_999))) {
      throw badParameter.call(this, itemIndex, `"${requested}" is not a VMID (100 to 999999999, or 0 for the next free one)`);
    }
    const problems: string[] = [];
    const params: ApiParams = {
      ...configParams(resource, this.getNodeParameter('config', itemIndex, {}) as IDataObject, problems),
      ...(resource === 'vm' ? cloudInitParams(this.getNodeParameter('cloudInit', itemIndex, {}) as IDataObject, problems) : {}),
      ...otherParams(this.getNodeParameter('otherParameters', itemIndex, {}) as IDataObject, problems),
    };
    if (resource === 'container') {
      const ostemplate = String(this.getNodeParameter('ostemplate', itemIndex, '') ?? '').trim();
      if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+/i.test(ostemplate)) problems.push(`OS template "${ostemplate}" is not a volume ID like local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst`);
      params.ostemplate = ostemplate;
      const password = String(this.getNodeParameter('password', itemIndex, '') ?? '');
      if (password) {
        if (password.length < 5) problems.push('the root password needs at least 5 characters');
        params.password = password;
      }
      const keys = String(this.getNodeParameter('sshPublicKeys', itemIndex, '') ?? '').trim();
      if (keys) params['ssh-public-keys'] = keys.split(/\r?\n/).map((k) => k.trim()).filter(Boolean).join('\n');
      params.unprivileged = options.unprivileged !== false;
    }
    if (typeof options.pool === 'string' && options.pool) params.pool = options.pool;
    if (options.start === true) params.start = true;
    if (problems.length) throw badParameter.call(this, itemIndex, `Invalid ${label.toLowerCase()} parameters`, problems.join('\n'));

    const kind = KIND[resource];
    const path = `/nodes/${encodeURIComponent(node)}/${kind}`;
    const name = (params.name ?? params.hostname) as string | undefined;
    if (s.dryRun) {
      const vmid = requested || (await ctx.vmids.next(ctx.client, s));
      return dryRun([{ method: 'POST', path, params: { vmid, ...params } }], { vmid, node });
    }
    const { vmid, value: outcome, collisions } = await withNextVmid(ctx.vmids, ctx.client, s, requested || undefined, (vmid) =>
      ctx.client.runTask(
        { method: 'POST', path, params: { vmid, ...params }, alreadyDone: ownedAlready(ctx.client, { kind, node, vmid }, { ...(name ? { name } : {}), fixedId: requested > 0 }, s) },
        s,
      ),
    );
    return taskOutput(outcome, { vmid, node, ...(name ? { name } : {}), ...(collisions ? { vmidCollisions: collisions } : {}) });
  }

  return { description, execute };
}
