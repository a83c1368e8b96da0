// Node helpers shared by cordon, uncordon, drain and get nodes.

import type { IDataObject } from 'n8n-workflow';
import type { KubeClient } from '../../transport/kubernetes.ts';

export async function setUnschedulable(kube: KubeClient, node: string, unschedulable: boolean, dryRun: boolean): Promise<IDataObject> {
  return await kube.mergePatch('v1', 'Node', node, undefined, { spec: { unschedulable: unschedulable ? true : null } }, dryRun ? { dryRun: 'All' } : {});
}

export function nodeSummary(node: IDataObject): IDataObject {
  const metadata = (node.metadata ?? {}) as IDataObject;
  const labels = (metadata.labels ?? {}) as Record<string, string>;
  const status = (node.status ?? {}) as IDataObject;
  const conditions = (status.conditions ?? []) as IDataObject[];
  const info = (status.nodeInfo ?? {}) as IDataObject;
  return {
    name: metadata.name,
    ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True'),
    unschedulable: (node.spec as IDataObject | undefined)?.unschedulable === true,
    roles: Object.keys(labels).filter((l) => l.startsWith('node-role.kubernetes.io/')).map((l) => l.slice('node-role.kubernetes.io/'.length)),
    kubeletVersion: info.kubeletVersion,
    osImage: info.osImage,
    labels,
  };
}
