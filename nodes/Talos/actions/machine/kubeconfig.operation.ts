import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { parse as parseYaml } from 'yaml';
import type { Session } from '../session.ts';
import { forOperation } from '../common.ts';

export const description: INodeProperties[] = forOperation('machine', 'kubeconfig', [
  {
    displayName: 'Output',
    name: 'output',
    type: 'options',
    options: [
      { name: 'JSON', value: 'json', description: 'The kubeconfig as an object' },
      { name: 'YAML', value: 'yaml', description: 'The kubeconfig as YAML text in the "kubeconfig" field' },
    ],
    default: 'yaml',
  },
  {
    displayName: 'Put Output File in Field',
    name: 'binaryPropertyName',
    type: 'string',
    default: 'data',
    description: 'Binary field for the kubeconfig file; empty: no file',
  },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const file = await session.talosKubeconfig(itemIndex);
  const text = file.toString('utf8');
  const output = this.getNodeParameter('output', itemIndex) as string;
  const json = output === 'json' ? (parseYaml(text) as Record<string, unknown>) : { kubeconfig: text };
  const item: INodeExecutionData = { json: { ...json, node: call.node ?? client.endpoint, hostname: client.hostnameOf(call.node) ?? '' }, pairedItem: { item: itemIndex } };
  const property = String(this.getNodeParameter('binaryPropertyName', itemIndex, 'data') ?? '').trim();
  if (property) item.binary = { [property]: await this.helpers.prepareBinaryData(file, 'kubeconfig', 'application/yaml') };
  return [item];
}
