import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { badParameter, forOperation, nodeField, optionsField, settings, type OperationContext } from '../shared.ts';

/** GET /nodes/{node}/storage/{storage}/content: disk images, ISOs, container templates, backups. */
export const description = forOperation('storage', 'getContent', [
  nodeField({ auto: false }),
  {
    displayName: 'Storage Name or ID',
    name: 'storage',
    type: 'options',
    typeOptions: { loadOptionsMethod: 'getStorages', loadOptionsDependsOn: ['node'] },
    default: '',
    required: true,
    description: 'Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>',
  },
  {
    displayName: 'Content Type',
    name: 'content',
    type: 'options',
    options: ['', 'images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets'].map((c) => ({ name: c || 'Any', value: c })),
    default: '',
  },
  { displayName: 'Only for VM ID', name: 'contentVmId', type: 'number', typeOptions: { minValue: 0 }, default: 0, description: 'Only the volumes of this guest (0: all)' },
  optionsField({}),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
  const s = settings.call(this, itemIndex);
  const node = String(this.getNodeParameter('node', itemIndex, '') ?? '').trim();
  const storage = String(this.getNodeParameter('storage', itemIndex, '') ?? '').trim();
  if (!node || !storage) throw badParameter.call(this, itemIndex, 'Choose a node and a storage');
  const content = String(this.getNodeParameter('content', itemIndex, '') ?? '');
  const vmid = Number(this.getNodeParameter('contentVmId', itemIndex, 0) ?? 0);
  const list = await ctx.client.get<IDataObject[]>(
    `/nodes/${encodeURIComponent(node)}/storage/${encodeURIComponent(storage)}/content`,
    { ...(content ? { content } : {}), ...(vmid >= 100 ? { vmid } : {}) },
    s,
  );
  return (list ?? []).map((volume) => ({ node, storage, ...volume }));
}
