import { sleep, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { WaitTimeoutError } from '../../transport/wait.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'waitForRollout', [
  {
    displayName: 'Kind',
    name: 'kind',
    type: 'options',
    options: [
      { name: 'Deployment', value: 'Deployment' },
      { name: 'StatefulSet', value: 'StatefulSet' },
      { name: 'DaemonSet', value: 'DaemonSet' },
    ],
    default: 'Deployment',
  },
  { displayName: 'Name', name: 'name', type: 'string', default: '', required: true },
  { displayName: 'Namespace', name: 'namespace', type: 'string', default: '' },
  { displayName: 'Timeout (Seconds)', name: 'rolloutTimeout', type: 'number', default: 300 },
  { displayName: 'Poll Interval (Seconds)', name: 'pollInterval', type: 'number', typeOptions: { numberPrecision: 2 }, default: 2 },
]);

/** kubectl rollout status: the controller saw the generation and every replica is updated, ready and available. */
export function rolloutState(kind: string, object: IDataObject): { done: boolean; message: string } {
  const metadata = (object.metadata ?? {}) as IDataObject;
  const spec = (object.spec ?? {}) as IDataObject;
  const status = (object.status ?? {}) as IDataObject;
  const observed = Number(status.observedGeneration ?? 0);
  if (observed < Number(metadata.generation ?? 0)) return { done: false, message: 'waiting for the rollout to be observed' };
  if (kind === 'DaemonSet') {
    const desired = Number(status.desiredNumberScheduled ?? 0);
    const updated = Number(status.updatedNumberScheduled ?? 0);
    const available = Number(status.numberAvailable ?? 0);
    return { done: updated >= desired && available >= desired, message: `${available} of ${desired} pods available, ${updated} updated` };
  }
  const replicas = Number(spec.replicas ?? 1);
  const updated = Number(status.updatedReplicas ?? 0);
  const ready = Number(status.readyReplicas ?? 0);
  const available = Number(kind === 'StatefulSet' ? ready : (status.availableReplicas ?? 0));
  const total = Number(status.replicas ?? 0);
  if (updated < replicas) return { done: false, message: `${updated} of ${replicas} updated replicas are available` };
  if (total > updated) return { done: false, message: `${total - updated} old replicas are pending termination` };
  if (available < updated) return { done: false, message: `${available} of ${updated} updated replicas are available` };
  return { done: true, message: `successfully rolled out (${ready}/${replicas} ready)` };
}

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const kind = this.getNodeParameter('kind', itemIndex) as string;
  const name = this.getNodeParameter('name', itemIndex) as string;
  const namespace = (this.getNodeParameter('namespace', itemIndex, '') as string).trim() || undefined;
  const timeoutMs = Number(this.getNodeParameter('rolloutTimeout', itemIndex, 300)) * 1000;
  const pollMs = Math.max(50, Number(this.getNodeParameter('pollInterval', itemIndex, 2)) * 1000);
  const kube = await session.kubernetes(itemIndex);
  const started = Date.now();
  const progress: string[] = [];
  const maxPolls = Math.ceil(timeoutMs / pollMs) + 1;
  for (let poll = 0; poll < maxPolls; poll++) {
    const object = await kube.get('apps/v1', kind, name, namespace);
    const state = rolloutState(kind, object);
    if (progress.at(-1) !== state.message) progress.push(state.message);
    if (state.done) {
      const status = (object.status ?? {}) as IDataObject;
      return items(itemIndex, [{ kind, name, namespace: namespace ?? kube.access.namespace, rolledOut: true, message: state.message, readyReplicas: status.readyReplicas ?? status.numberReady, durationMs: Date.now() - started, progress }]);
    }
    if (Date.now() - started >= timeoutMs) break;
    await sleep(Math.min(pollMs, Math.max(1, timeoutMs - (Date.now() - started))));
  }
  throw new WaitTimeoutError(`${kind} ${name} did not roll out within ${timeoutMs / 1000} s: ${progress.at(-1) ?? ''}`, progress);
}
