import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'getPods', [
  { displayName: 'Namespace', name: 'namespace', type: 'string', default: '', description: 'Empty: all namespaces' },
  { displayName: 'Label Selector', name: 'labelSelector', type: 'string', default: '', placeholder: 'app=web' },
  { displayName: 'Kubernetes Node', name: 'nodeName', type: 'string', default: '', description: 'Only pods on this node' },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const kube = await session.kubernetes(itemIndex);
  const namespace = (this.getNodeParameter('namespace', itemIndex, '') as string).trim() || undefined;
  const labelSelector = (this.getNodeParameter('labelSelector', itemIndex, '') as string).trim();
  const nodeName = (this.getNodeParameter('nodeName', itemIndex, '') as string).trim();
  const qs: IDataObject = {};
  if (labelSelector) qs.labelSelector = labelSelector;
  if (nodeName) qs.fieldSelector = `spec.nodeName=${nodeName}`;
  const pods = await kube.list('v1', 'Pod', namespace, qs);
  return items(
    itemIndex,
    pods.map((pod) => {
      const metadata = (pod.metadata ?? {}) as IDataObject;
      const status = (pod.status ?? {}) as IDataObject;
      const containers = (status.containerStatuses ?? []) as IDataObject[];
      return {
        name: metadata.name,
        namespace: metadata.namespace,
        node: (pod.spec as IDataObject | undefined)?.nodeName ?? '',
        phase: status.phase,
        ready: status.phase === 'Running' && containers.every((c) => c.ready !== false),
        labels: metadata.labels ?? {},
      };
    }),
  );
}
