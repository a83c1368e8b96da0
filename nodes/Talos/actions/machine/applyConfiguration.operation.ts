import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { ParameterError } from '../errors.ts';

export const description: INodeProperties[] = forOperation('machine', 'applyConfiguration', [
  {
    displayName: 'Configuration Source',
    name: 'configSource',
    type: 'options',
    options: [
      { name: 'Field', value: 'field' },
      { name: 'Binary Input', value: 'binary' },
    ],
    default: 'field',
  },
  {
    displayName: 'Machine Configuration',
    name: 'config',
    type: 'string',
    typeOptions: { rows: 12 },
    default: '',
    required: true,
    description: 'The machine configuration (YAML), e.g. controlplane.yaml from talosctl gen config',
    displayOptions: { show: { resource: ['machine'], operation: ['applyConfiguration'], configSource: ['field'] } },
  },
  {
    displayName: 'Input Binary Field',
    name: 'binaryPropertyName',
    type: 'string',
    default: 'data',
    required: true,
    description: 'Name of the binary field holding the machine configuration file',
    displayOptions: { show: { resource: ['machine'], operation: ['applyConfiguration'], configSource: ['binary'] } },
  },
  {
    displayName: 'Mode',
    name: 'mode',
    type: 'options',
    options: [
      { name: 'Auto', value: 'AUTO', description: 'Apply without a reboot if possible, otherwise reboot' },
      { name: 'No Reboot', value: 'NO_REBOOT', description: 'Apply now; fail if the change needs a reboot' },
      { name: 'Reboot', value: 'REBOOT', description: 'Apply and reboot' },
      { name: 'Staged', value: 'STAGED', description: 'Apply on the next reboot' },
      { name: 'Try', value: 'TRY', description: 'Apply now and roll back after the try timeout unless confirmed' },
    ],
    default: 'AUTO',
    description: 'How the node applies the configuration (a node in maintenance mode always installs and reboots)',
  },
  {
    displayName: 'Try Timeout (Seconds)',
    name: 'tryTimeout',
    type: 'number',
    default: 60,
    displayOptions: { show: { resource: ['machine'], operation: ['applyConfiguration'], mode: ['TRY'] } },
  },
  {
    displayName: 'Dry Run',
    name: 'dryRun',
    type: 'boolean',
    default: false,
    description: 'Whether to only report what would change (the node\'s diff and warnings) without applying',
  },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const source = this.getNodeParameter('configSource', itemIndex) as string;
  let data: Buffer;
  if (source === 'binary') {
    const property = this.getNodeParameter('binaryPropertyName', itemIndex) as string;
    this.helpers.assertBinaryData(itemIndex, property);
    data = await this.helpers.getBinaryDataBuffer(itemIndex, property);
  } else {
    data = Buffer.from(this.getNodeParameter('config', itemIndex) as string, 'utf8');
  }
  if (!data.toString('utf8').trim()) throw new ParameterError('The machine configuration is empty');
  const mode = this.getNodeParameter('mode', itemIndex) as string;
  const dryRun = this.getNodeParameter('dryRun', itemIndex, false) as boolean;
  const request: Record<string, unknown> = { data, mode, dryRun };
  if (mode === 'TRY') request.tryModeTimeout = { seconds: Number(this.getNodeParameter('tryTimeout', itemIndex, 60)) };
  const { client, call } = await session.talos(itemIndex);
  const messages = await client.unary('machine.MachineService', 'ApplyConfiguration', request, call);
  return items(
    itemIndex,
    messages.map((m) => {
      const details = String(m.modeDetails ?? '');
      const diff = /Config diff:\n\n([\s\S]*)$/.exec(details)?.[1];
      return {
        node: call.node ?? client.endpoint,
        hostname: m.metadata?.hostname ?? '',
        mode: m.mode,
        modeDetails: details,
        warnings: m.warnings ?? [],
        dryRun,
        ...(diff !== undefined ? { diff } : {}),
      };
    }),
  );
}
