import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import type { ApiParams } from '../../transport/encode.ts';
import { cloudInitFields, cloudInitParams, configParams, containerConfigFields, hasCloudInitKeys, otherParametersField, otherParams, vmConfigFields } from './fields.ts';
import {
  badParameter, dryRun, forOperation, guestField, guestPath, guestRef, LABEL, nodeField, optionsField, settings,
  type GuestResource, type Operation, type OperationContext, type PlannedRequest,
} from '../shared.ts';

/**
 * PUT /nodes/{node}/{qemu|lxc}/{vmid}/config (synchronous), then for VMs whose cloud-init
 * settings changed PUT …/cloudinit so the drive is regenerated (else the guest only sees the
 * change after the drive is rebuilt at its next start — the usual "cloud-init not applied").
 */
export function makeUpdateConfig(resource: GuestResource): Operation {
  const label = LABEL[resource];
  const fields: INodeProperties[] = [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    {
      displayName: 'Configuration',
      name: 'config',
      type: 'collection',
      placeholder: 'Add Setting',
      default: {},
      options: resource === 'vm' ? vmConfigFields() : containerConfigFields(),
    },
  ];
  if (resource === 'vm') fields.push({ displayName: 'Cloud-Init', name: 'cloudInit', type: 'collection', placeholder: 'Add Cloud-Init Setting', default: {}, options: cloudInitFields() });
  fields.push(
    otherParametersField(),
    {
      displayName: 'Delete Settings',
      name: 'deleteKeys',
      type: 'string',
      default: '',
      placeholder: 'net1, ide2',
      description: 'Comma-separated settings to remove from the configuration',
    },
    optionsField({
      changing: true,
      lockable: true,
      extra: [
        ...(resource === 'vm'
          ? [
              {
                displayName: 'Regenerate Cloud-Init Drive',
                name: 'regenerateCloudInit',
                type: 'boolean' as const,
                default: true,
                description: 'Whether to rebuild the cloud-init drive when cloud-init settings change, so the guest sees them',
              },
            ]
          : []),
        {
          displayName: 'Only If Digest Is',
          name: 'digest',
          type: 'string',
          default: '',
          description: 'SHA1 digest from Get Config: the change is refused if the configuration was modified since',
        },
      ],
    }),
  );
  const description = forOperation(resource, 'updateConfig', fields);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const s = settings.call(this, itemIndex);
    const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
    const problems: string[] = [];
    const params: ApiParams = {
      ...configParams(resource, this.getNodeParameter('config', itemIndex, {}) as IDataObject, problems),
      ...(resource === 'vm' ? cloudInitParams(this.getNodeParameter('cloudInit', itemIndex, {}) as IDataObject, problems) : {}),
      ...otherParams(this.getNodeParameter('otherParameters', itemIndex, {}) as IDataObject, problems),
    };
    const deleteKeys = String(this.getNodeParameter('deleteKeys', itemIndex, '') ?? '')
      .split(/[,;\s]+/)
      .filter(Boolean);
    for (const key of deleteKeys) if (!/^[a-z][a-z0-9_-]*$/i.test(key)) problems.push(`"${key}" is not a setting name`);
    if (deleteKeys.length) params.delete = deleteKeys.join(',');
    if (typeof options.digest === 'string' && options.digest.trim()) params.digest = options.digest.trim();
    if (problems.length) throw badParameter.call(this, itemIndex, `Invalid ${label.toLowerCase()} configuration`, problems.join('\n'));
    const changed = Object.keys(params).filter((k) => k !== 'delete' && k !== 'digest');
    if (!changed.length && !deleteKeys.length) throw badParameter.call(this, itemIndex, 'Nothing to change: set at least one setting or a setting to delete');

    const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
    const regenerate = resource === 'vm' && options.regenerateCloudInit !== false && hasCloudInitKeys(params);
    const requests: PlannedRequest[] = [{ method: 'PUT', path: guestPath(ref, '/config'), params }];
    if (regenerate) requests.push({ method: 'PUT', path: guestPath(ref, '/cloudinit') });
    const base = { vmid: ref.vmid, node: ref.node };
    if (s.dryRun) return dryRun(requests, base);

    if (regenerate) {
      // Without a cloud-init drive Proxmox accepts the settings and silently applies nothing.
      const config = await ctx.client.get<IDataObject>(guestPath(ref, '/config'), undefined, s);
      const merged = { ...config, ...params };
      const drive = Object.entries(merged).some(([key, value]) => /^(ide|sata|scsi)\d+$/.test(key) && String(value).includes('cloudinit'));
      if (!drive) {
        throw badParameter.call(
          this,
          itemIndex,
          `VM ${ref.vmid} has no cloud-init drive, so cloud-init settings would not reach the guest`,
          'Add one (e.g. Other Parameters: ide2 = local-lvm:cloudinit), or turn off "Regenerate Cloud-Init Drive".',
        );
      }
    }
    const written = await ctx.client.write({ method: 'PUT', path: guestPath(ref, '/config'), params, guest: ref }, s);
    if (regenerate) await ctx.client.write({ method: 'PUT', path: guestPath(ref, '/cloudinit'), guest: ref }, s);
    return {
      ...base,
      status: 'OK',
      updated: changed,
      ...(deleteKeys.length ? { deleted: deleteKeys } : {}),
      ...(resource === 'vm' ? { cloudInitRegenerated: regenerate } : {}),
      ...(written.attempts > 1 ? { attempts: written.attempts } : {}),
      ...(written.lockWaits > 0 ? { lockWaits: written.lockWaits } : {}),
    };
  }

  return { description, execute };
}
