import { NodeApiError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, type JsonObject } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { readable, toNodeError } from '../errors.ts';
import { TalosApiError } from '../../transport/errors.ts';

export const description: INodeProperties[] = forOperation('machine', 'health', [
  {
    displayName: 'Wait Timeout (Seconds)',
    name: 'waitTimeout',
    type: 'number',
    default: 600,
    description: 'How long the cluster may take to become healthy',
  },
  {
    displayName: 'Control Plane Nodes',
    name: 'controlPlaneNodes',
    type: 'string',
    default: '',
    placeholder: '10.5.0.2, 10.5.0.3',
    description: 'Comma-separated; empty: Talos discovers the cluster members',
  },
  {
    displayName: 'Worker Nodes',
    name: 'workerNodes',
    type: 'string',
    default: '',
    placeholder: '10.5.0.4',
  },
]);

const list = (value: unknown) => String(value ?? '').split(/[\s,]+/).map((s) => s.trim()).filter(Boolean);

/** cluster.ClusterService/HealthCheck: progress messages until the stream ends (healthy) or fails. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const waitSeconds = Number(this.getNodeParameter('waitTimeout', itemIndex, 600));
  const controlPlaneNodes = list(this.getNodeParameter('controlPlaneNodes', itemIndex, ''));
  const workerNodes = list(this.getNodeParameter('workerNodes', itemIndex, ''));
  const request = {
    waitTimeout: { seconds: waitSeconds },
    clusterInfo: controlPlaneNodes.length || workerNodes.length ? { controlPlaneNodes, workerNodes } : undefined,
  };
  const progress: string[] = [];
  const started = Date.now();
  try {
    for await (const message of client.stream('cluster.ClusterService', 'HealthCheck', request, { node: call.node, timeoutMs: waitSeconds * 1000 + 15_000 })) {
      progress.push(String(message.message ?? ''));
      if (progress.length > 1000) progress.shift();
    }
  } catch (error) {
    if (error instanceof TalosApiError) {
      throw new NodeApiError(this.getNode(), { ...error.toJSON(), progress: progress.slice(-20) } as JsonObject, {
        message: readable(`Cluster is not healthy: ${error.message} [${error.codeName} from ${error.where}]`),
        description: `Last checks:\n${progress.slice(-8).join('\n')}`,
        itemIndex,
      });
    }
    throw toNodeError(this.getNode(), error, itemIndex);
  }
  return items(itemIndex, [{ healthy: true, checks: progress.filter((p) => p.endsWith(': OK')).length, progress, durationMs: Date.now() - started }]);
}
