import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { isDiskSize } from '../../transport/encode.ts';
import { guestTask } from './task.ts';
import { badParameter, forOperation, guestField, nodeField, optionsField, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** PUT …/resize (disk, size): grow only; "+10G" grows by, "50G" grows to. */
export function makeResize(resource: GuestResource): Operation {
  const description: INodeProperties[] = forOperation(resource, 'resize', [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    {
      displayName: 'Disk',
      name: 'disk',
      type: 'string',
      default: resource === 'vm' ? 'scsi0' : 'rootfs',
      required: true,
      description: resource === 'vm' ? 'Disk key, e.g. scsi0, virtio1, sata0' : 'rootfs or a mount point, e.g. mp0',
    },
    {
      displayName: 'Size',
      name: 'size',
      type: 'string',
      default: '+10G',
      required: true,
      description: 'With "+": grow by this much; without: the new total size. Units K, M, G, T. Disks can only grow.',
    },
    optionsField({ changing: true, task: true, lockable: true }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const disk = String(this.getNodeParameter('disk', itemIndex)).trim();
    const size = String(this.getNodeParameter('size', itemIndex)).trim().toUpperCase();
    const diskPattern = resource === 'vm' ? /^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$/ : /^(rootfs|mp\d{1,3})$/;
    if (!diskPattern.test(disk)) throw badParameter.call(this, itemIndex, `"${disk}" is not a disk key`, resource === 'vm' ? 'Use e.g. scsi0, virtio0, sata1.' : 'Use rootfs or mpN.');
    if (!isDiskSize(size)) throw badParameter.call(this, itemIndex, `"${size}" is not a size`, 'Use e.g. +10G (grow by) or 64G (grow to).');
    return await guestTask.call(this, itemIndex, ctx, resource, { method: 'PUT', suffix: '/resize', params: { disk, size }, extra: { disk, size } });
  }

  return { description, execute };
}
