import type { IDataObject, ILoadOptionsFunctions, INodeListSearchResult } from 'n8n-workflow';
import { ProxmoxClient } from '../transport/client.ts';
import { DEFAULT_SETTINGS } from '../transport/retry.ts';

async function search(ctx: ILoadOptionsFunctions, kind: 'qemu' | 'lxc', templatesFirst: boolean, filter?: string): Promise<INodeListSearchResult> {
  const resources = (await new ProxmoxClient(ctx).get<IDataObject[]>('/cluster/resources', { type: 'vm' }, DEFAULT_SETTINGS)) ?? [];
  const needle = (filter ?? '').trim().toLowerCase();
  const guests = resources
    .filter((r) => r.type === kind)
    .map((r) => ({ vmid: Number(r.vmid), name: String(r.name ?? ''), node: String(r.node ?? ''), status: String(r.status ?? ''), template: Number(r.template ?? 0) === 1 }))
    .filter((g) => !needle || String(g.vmid).includes(needle) || g.name.toLowerCase().includes(needle))
    .sort((a, b) => (templatesFirst && a.template !== b.template ? (a.template ? -1 : 1) : a.vmid - b.vmid));
  return {
    results: guests.map((g) => ({
      name: `${g.vmid} · ${g.name || '(no name)'} (${g.node}, ${g.template ? 'template' : g.status})`,
      value: String(g.vmid),
    })),
  };
}

export async function searchVms(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  return await search(this, 'qemu', false, filter);
}

export async function searchVmTemplates(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  return await search(this, 'qemu', true, filter);
}

export async function searchContainers(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  return await search(this, 'lxc', false, filter);
}

export async function searchContainerTemplates(this: ILoadOptionsFunctions, filter?: string): Promise<INodeListSearchResult> {
  return await search(this, 'lxc', true, filter);
}
