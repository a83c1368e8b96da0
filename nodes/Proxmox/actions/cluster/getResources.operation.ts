import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { forOperation, optionsField, settings, type OperationContext } from '../shared.ts';

/** GET /cluster/resources[?type=vm|storage|node]: everything the credential may see, one item each. */
export const description = forOperation('cluster', 'getResources', [
  {
    displayName: 'Type',
    name: 'resourceType',
    type: 'options',
    options: [
      { name: 'All', value: '' },
      { name: 'Guests (VMs and Containers)', value: 'vm' },
      { name: 'Nodes', value: 'node' },
      { name: 'Storage', value: 'storage' },
    ],
    default: '',
  },
  optionsField({}),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
  const type = String(this.getNodeParameter('resourceType', itemIndex, '') ?? '');
  return (await ctx.client.get<IDataObject[]>('/cluster/resources', type ? { type } : undefined, settings.call(this, itemIndex))) ?? [];
}
