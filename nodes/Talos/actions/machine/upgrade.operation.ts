import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items, waitProperties } from '../common.ts';
import { ParameterError } from '../errors.ts';
import { runLifecycleAction } from './lifecycle.ts';

export const description: INodeProperties[] = [
  ...forOperation('machine', 'upgrade', [
    {
      displayName: 'Installer Image',
      name: 'image',
      type: 'string',
      default: '',
      required: true,
      placeholder: 'ghcr.io/siderolabs/installer:v1.9.6',
    },
    { displayName: 'Preserve Data', name: 'preserve', type: 'boolean', default: false, description: 'Whether to keep the ephemeral partition (needed for single-node control planes)' },
    { displayName: 'Stage', name: 'stage', type: 'boolean', default: false, description: 'Whether to stage the upgrade and perform it after a reboot' },
    { displayName: 'Force', name: 'force', type: 'boolean', default: false, description: 'Whether to skip the etcd health checks' },
  ]),
  ...waitProperties('machine', 'upgrade', 900),
];

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const image = String(this.getNodeParameter('image', itemIndex, '')).trim();
  if (!image) throw new ParameterError('Installer Image is empty');
  const request = {
    image,
    preserve: this.getNodeParameter('preserve', itemIndex, false) as boolean,
    stage: this.getNodeParameter('stage', itemIndex, false) as boolean,
    force: this.getNodeParameter('force', itemIndex, false) as boolean,
  };
  const result = await runLifecycleAction(this, itemIndex, session, async (client, call) => {
    const [reply] = await client.unary('machine.MachineService', 'Upgrade', request, call);
    return { reply: reply ?? {}, actorId: String(reply?.actorId ?? '') };
  }, 'ready');
  if (result.waited) {
    const { client, call } = await session.talos(itemIndex);
    const [version] = await client.unary('machine.MachineService', 'Version', {}, call);
    result.version = version?.version?.tag ?? '';
  }
  return items(itemIndex, [{ ...result, image, ack: 'Upgrade request received' }]);
}
