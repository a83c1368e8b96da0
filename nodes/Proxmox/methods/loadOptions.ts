import type { IDataObject, ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { ProxmoxClient } from '../transport/client.ts';
import { DEFAULT_SETTINGS } from '../transport/retry.ts';

async function nodes(ctx: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  const list = (await new ProxmoxClient(ctx).get<IDataObject[]>('/nodes', undefined, DEFAULT_SETTINGS)) ?? [];
  return list
    .map((n) => String(n.node))
    .sort()
    .map((node) => ({ name: node, value: node }));
}

export async function getNodes(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  return await nodes(this);
}

export async function getNodesOrAuto(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  return [{ name: 'Auto-Detect', value: '', description: 'Look the guest up in the cluster' }, ...(await nodes(this))];
}

function currentNode(ctx: ILoadOptionsFunctions): string {
  return String(ctx.getCurrentNodeParameter('node') ?? '').trim();
}

/** Storages of the chosen node. */
export async function getStorages(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  const node = currentNode(this);
  if (!node) return [];
  const list = (await new ProxmoxClient(this).get<IDataObject[]>(`/nodes/${encodeURIComponent(node)}/storage`, { enabled: true }, DEFAULT_SETTINGS)) ?? [];
  return list.map((s) => ({ name: String(s.storage), value: String(s.storage), description: `${String(s.type ?? '')}: ${String(s.content ?? '')}` }));
}

/** Container templates (vztmpl volumes) on the chosen node's storages. */
export async function getContainerTemplates(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
  const node = currentNode(this);
  if (!node) return [];
  const client = new ProxmoxClient(this);
  const storages = (await client.get<IDataObject[]>(`/nodes/${encodeURIComponent(node)}/storage`, { content: 'vztmpl', enabled: true }, DEFAULT_SETTINGS)) ?? [];
  const options: INodePropertyOptions[] = [];
  for (const storage of storages.slice(0, 20)) {
    const volumes = (await client.get<IDataObject[]>(`/nodes/${encodeURIComponent(node)}/storage/${encodeURIComponent(String(storage.storage))}/content`, { content: 'vztmpl' }, DEFAULT_SETTINGS)) ?? [];
    for (const volume of volumes) options.push({ name: String(volume.volid).replace(/^[^:]+:vztmpl\//, `${String(storage.storage)}: `), value: String(volume.volid) });
  }
  return options;
}
