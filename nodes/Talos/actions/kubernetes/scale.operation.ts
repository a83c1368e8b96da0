import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'scale', [
  {
    displayName: 'Kind',
    name: 'scaleKind',
    type: 'options',
    options: [
      { name: 'Deployment', value: 'Deployment' },
      { name: 'StatefulSet', value: 'StatefulSet' },
    ],
    default: 'Deployment',
  },
  { displayName: 'Name', name: 'name', type: 'string', default: '', required: true },
  { displayName: 'Namespace', name: 'namespace', type: 'string', default: '' },
  { displayName: 'Replicas', name: 'replicas', type: 'number', typeOptions: { minValue: 0 }, default: 1 },
  { displayName: 'Dry Run', name: 'dryRun', type: 'boolean', default: false },
]);

/** Patches the scale subresource. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const kind = this.getNodeParameter('scaleKind', itemIndex) as string;
  const name = this.getNodeParameter('name', itemIndex) as string;
  const namespace = (this.getNodeParameter('namespace', itemIndex, '') as string).trim() || undefined;
  const replicas = Number(this.getNodeParameter('replicas', itemIndex));
  const dryRun = this.getNodeParameter('dryRun', itemIndex, false) as boolean;
  const kube = await session.kubernetes(itemIndex);
  const scale = await kube.mergePatch('apps/v1', kind, name, namespace, { spec: { replicas } }, dryRun ? { dryRun: 'All' } : {}, 'scale');
  return items(itemIndex, [{ kind, name, namespace: namespace ?? kube.access.namespace, replicas: (scale.spec as { replicas?: number })?.replicas ?? replicas, dryRun }]);
}
