import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { forOperation, nodeField, optionsField, settings, type OperationContext } from '../shared.ts';

const CONTENT = ['', 'images', 'rootdir', 'iso', 'vztmpl', 'backup', 'snippets'];

/** GET /nodes/{node}/storage (status and usage) or, cluster-wide, GET /storage (configuration). */
export const description = forOperation('storage', 'list', [
  nodeField({ auto: true, description: 'Node whose storages to list with status and usage; Auto-Detect lists the cluster storage configuration' }),
  {
    displayName: 'Content Type',
    name: 'content',
    type: 'options',
    options: CONTENT.map((c) => ({ name: c || 'Any', value: c })),
    default: '',
    description: 'Only storages that can hold this content',
  },
  optionsField({}),
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
  const s = settings.call(this, itemIndex);
  const node = String(this.getNodeParameter('node', itemIndex, '') ?? '').trim();
  const content = String(this.getNodeParameter('content', itemIndex, '') ?? '');
  if (node) {
    const list = (await ctx.client.get<IDataObject[]>(`/nodes/${encodeURIComponent(node)}/storage`, { ...(content ? { content } : {}), enabled: true }, s)) ?? [];
    return list.map((storage) => ({ node, ...storage }));
  }
  const list = (await ctx.client.get<IDataObject[]>('/storage', undefined, s)) ?? [];
  return list.filter((storage) => !content || String(storage.content ?? '').split(',').includes(content));
}
