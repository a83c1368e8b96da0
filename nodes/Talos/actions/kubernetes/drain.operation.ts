import { sleep, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { KubeApiError } from '../../transport/kubernetes.ts';
import { WaitTimeoutError } from '../../transport/wait.ts';
import { setUnschedulable } from './nodeCommon.ts';
import { toNodeError } from '../errors.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'drain', [
  { displayName: 'Kubernetes Node', name: 'nodeName', type: 'string', default: '', required: true },
  { displayName: 'Ignore DaemonSets', name: 'ignoreDaemonSets', type: 'boolean', default: true, description: 'Whether to leave DaemonSet pods in place (they would come back anyway)' },
  { displayName: 'Timeout (Seconds)', name: 'drainTimeout', type: 'number', default: 300, description: 'How long to keep retrying evictions refused by disruption budgets and to wait for pods to go' },
  { displayName: 'Retry Interval (Seconds)', name: 'retryInterval', type: 'number', typeOptions: { numberPrecision: 2 }, default: 5 },
  { displayName: 'Dry Run', name: 'dryRun', type: 'boolean', default: false },
]);

/** kubectl drain: cordon, evict every pod but mirror (static) and DaemonSet pods, wait for them to go. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const nodeName = this.getNodeParameter('nodeName', itemIndex) as string;
  const ignoreDaemonSets = this.getNodeParameter('ignoreDaemonSets', itemIndex, true) as boolean;
  const timeoutMs = Number(this.getNodeParameter('drainTimeout', itemIndex, 300)) * 1000;
  const retryMs = Math.max(50, Number(this.getNodeParameter('retryInterval', itemIndex, 5)) * 1000);
  const dryRun = this.getNodeParameter('dryRun', itemIndex, false) as boolean;
  const kube = await session.kubernetes(itemIndex);
  const started = Date.now();
  await setUnschedulable(kube, nodeName, true, dryRun);

  const pods = await kube.list('v1', 'Pod', undefined, { fieldSelector: `spec.nodeName=${nodeName}` });
  const skipped: IDataObject[] = [];
  let pending: IDataObject[] = [];
  for (const pod of pods) {
    const metadata = (pod.metadata ?? {}) as IDataObject;
    const owners = (metadata.ownerReferences ?? []) as IDataObject[];
    if ((metadata.annotations as IDataObject | undefined)?.['kubernetes.io/config.mirror']) skipped.push({ name: metadata.name, namespace: metadata.namespace, reason: 'mirror pod' });
    else if (owners.some((o) => o.kind === 'DaemonSet')) {
      if (!ignoreDaemonSets) throw new KubeApiError(409, 'DaemonSetPods', `Pod ${metadata.namespace}/${metadata.name} is managed by a DaemonSet; turn on Ignore DaemonSets`, undefined);
      skipped.push({ name: metadata.name, namespace: metadata.namespace, reason: 'DaemonSet pod' });
    } else pending.push(metadata);
  }

  const evicted: IDataObject[] = [];
  const maxRounds = Math.ceil(timeoutMs / retryMs) + 1;
  for (let round = 0; round < maxRounds && pending.length; round++) {
    const refused: IDataObject[] = [];
    for (const pod of pending) {
      const path = `/api/v1/namespaces/${encodeURIComponent(String(pod.namespace))}/pods/${encodeURIComponent(String(pod.name))}/eviction`;
      try {
        await kube.request({
          method: 'POST',
          path,
          qs: dryRun ? { dryRun: 'All' } : {},
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.name, namespace: pod.namespace } },
        });
        evicted.push({ name: pod.name, namespace: pod.namespace });
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) continue;
        if (error instanceof KubeApiError && error.statusCode === 429) refused.push(pod);
        else throw toNodeError(this.getNode(), error, itemIndex);
      }
    }
    pending = refused;
    if (!pending.length) break;
    if (Date.now() - started >= timeoutMs) break;
    await sleep(retryMs);
  }
  if (pending.length) {
    throw new WaitTimeoutError(`Drain of ${nodeName} timed out: evictions of ${pending.map((p) => `${p.namespace}/${p.name}`).join(', ')} were refused by disruption budgets`, []);
  }

  if (!dryRun) {
    for (let round = 0; round < maxRounds; round++) {
      const remaining = (await kube.list('v1', 'Pod', undefined, { fieldSelector: `spec.nodeName=${nodeName}` })).filter((pod) =>
        evicted.some((e) => e.name === (pod.metadata as IDataObject).name && e.namespace === (pod.metadata as IDataObject).namespace),
      );
      if (!remaining.length) break;
      if (Date.now() - started >= timeoutMs) throw new WaitTimeoutError(`Drain of ${nodeName} timed out waiting for ${remaining.length} evicted pods to terminate`, []);
      await sleep(retryMs);
    }
  }
  return items(itemIndex, [{ node: nodeName, cordoned: true, evicted, skipped, dryRun, durationMs: Date.now() - started }]);
}
