import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { BootWait, Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { ParameterError, toNodeError } from '../errors.ts';
import type { CallOptions, TalosClient } from '../../transport/client.ts';
import { TalosApiError } from '../../transport/errors.ts';
import { WaitTimeoutError, describeEvent } from '../../transport/wait.ts';

const MACHINE = 'machine.MachineService';

export const description: INodeProperties[] = forOperation('etcd', 'recover', [
  {
    displayName: 'Snapshot Input Binary Field',
    name: 'binaryPropertyName',
    type: 'string',
    default: 'data',
    required: true,
    description: 'Name of the binary field holding the etcd snapshot (e.g. from the Snapshot operation or a Read File node)',
  },
  {
    displayName: 'Skip Hash Check',
    name: 'skipHashCheck',
    type: 'boolean',
    default: false,
    description: 'Whether to accept a snapshot without etcd\'s trailing sha256, such as a db file copied from a data directory; snapshots from the Snapshot operation keep it on',
  },
  {
    displayName: 'Wait for etcd (Seconds)',
    name: 'waitTimeout',
    type: 'number',
    default: 300,
    description: 'How long to wait for the recovered etcd to run and report healthy; 0: do not wait',
  },
  { displayName: 'Retry Interval (Seconds)', name: 'retryInterval', type: 'number', typeOptions: { numberPrecision: 2 }, default: 5 },
]);

function checkIntegrity(snapshot: Buffer): void {
  if (snapshot.length <= 32) throw new ParameterError(`The etcd snapshot is too short (${snapshot.length} bytes)`);
  const actual = createHash('sha256').update(snapshot.subarray(0, -32)).digest();
  if (!actual.equals(snapshot.subarray(-32))) {
    throw new ParameterError('The etcd snapshot failed its integrity check (its trailing sha256 does not match); turn on Skip Hash Check only for a db file copied from a data directory');
  }
}

/**
 * Disaster recovery of a cluster's etcd, as `talosctl bootstrap --recover-from`: the snapshot is
 * uploaded to one control plane node whose etcd has not started (EtcdRecover), that node is
 * bootstrapped from it (Bootstrap with recover_etcd), and the operation waits until etcd runs
 * healthy. A node whose etcd already runs is refused up front ("already running": the dr-failover
 * template takes that as a warm standby); a failed etcd service (e.g. a snapshot the node refused)
 * fails the item with etcd's message.
 */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const property = this.getNodeParameter('binaryPropertyName', itemIndex) as string;
  this.helpers.assertBinaryData(itemIndex, property);
  const snapshot = await this.helpers.getBinaryDataBuffer(itemIndex, property);
  const skipHashCheck = this.getNodeParameter('skipHashCheck', itemIndex, false) as boolean;
  if (!skipHashCheck) checkIntegrity(snapshot);
  else if (snapshot.length === 0) throw new ParameterError('The etcd snapshot is empty');

  const { client, call } = await session.talos(itemIndex);
  const node = call.node ?? client.endpoint;
  const wait = session.bootWait(itemIndex, 300);
  // A node that has just been configured is still rebooting: upload and bootstrap again until it
  // answers (an upload replaces the previous one, so a repeat is harmless), within the wait.
  await session.whileBooting(
    itemIndex,
    wait,
    async (fresh) => {
      if ((await etcdService(fresh, call))?.state === 'Running') {
        throw new NodeOperationError(this.getNode(), `etcd on ${node} is already running: recovery needs a control plane node whose etcd has not started (reset it first)`, { itemIndex });
      }
      await fresh.upload(MACHINE, 'EtcdRecover', snapshot, { node: call.node, timeoutMs: Math.max(call.timeoutMs, 300_000) });
      await fresh.unary(MACHINE, 'Bootstrap', { recoverEtcd: true, recoverSkipHashCheck: skipHashCheck }, call);
    },
    (error) => {
      const message = `etcd on ${node} is already running from existing data: recovery needs a control plane node whose etcd is empty (reset it first). Talos said: ${error.message}`;
      throw new NodeOperationError(this.getNode(), message, { itemIndex });
    },
  );

  const result = { node, hostname: client.hostnameOf(call.node) ?? '', recovered: true, size: snapshot.length, sha256: createHash('sha256').update(snapshot).digest('hex') };
  if (wait.waitMs === 0) return items(itemIndex, [{ ...result, etcdState: 'not waited for' }]);
  const progress = await waitForEtcd.call(this, itemIndex, client, call, wait);
  return items(itemIndex, [{ ...result, etcdState: 'Running', progress }]);
}

async function etcdService(client: TalosClient, call: CallOptions) {
  const messages = await client.unary(MACHINE, 'ServiceList', {}, call);
  const service = messages.flatMap((m) => (m.services ?? []) as Array<Record<string, any>>).find((s) => s.id === 'etcd');
  if (!service) return undefined;
  return { state: String(service.state), healthy: service.health?.healthy === true, message: String(service.health?.lastMessage ?? '') };
}

/**
 * Until etcd runs healthy (its progress lines) or fails (a TalosApiError with etcd's message): the
 * service's state now (ServiceList), then its ServiceStateEvents, the Events stream being opened
 * first so that no change in between is missed.
 */
async function waitForEtcd(this: IExecuteFunctions, itemIndex: number, client: TalosClient, call: CallOptions, wait: BootWait): Promise<string[]> {
  const remaining = Math.max(1, wait.waitMs - (Date.now() - wait.started));
  const events = client.stream(MACHINE, 'Events', { tailEvents: 0 }, { node: call.node, timeoutMs: remaining });
  const progress: string[] = [];
  const seen = (etcd: { state: string; healthy: boolean; message: string } | undefined): boolean => {
    const line = etcd ? `etcd ${etcd.state}${etcd.healthy ? ' (healthy)' : ''}: ${etcd.message}` : 'etcd not started yet';
    if (progress.at(-1) !== line) progress.push(line);
    if (etcd?.state === 'Failed') throw new TalosApiError(`etcd did not recover from the snapshot: ${etcd.message}`, { code: status.FAILED_PRECONDITION, method: 'Bootstrap', endpoint: client.endpoint, node: call.node });
    return etcd?.state === 'Running' && etcd.healthy;
  };
  try {
    if (seen(await etcdService(client, call))) return progress;
    for await (const event of events) {
      const { type, payload } = describeEvent(event);
      if (type !== 'machine.ServiceStateEvent' || payload?.service !== 'etcd') continue;
      // The event's action is the state's enum name (RUNNING); ServiceList spells it Running.
      const action = String(payload.action ?? '');
      const state = action.charAt(0) + action.slice(1).toLowerCase();
      if (seen({ state, healthy: payload.health?.healthy === true, message: String(payload.message ?? payload.health?.lastMessage ?? '') })) return progress;
    }
  } catch (error) {
    if (!(error instanceof TalosApiError) || error.codeName !== 'DEADLINE_EXCEEDED') throw toNodeError(this.getNode(), error, itemIndex);
  } finally {
    await events.return(undefined);
  }
  throw new WaitTimeoutError(`etcd on ${call.node ?? client.endpoint} was not running healthy within ${wait.waitMs / 1000} s of the recovery`, progress);
}
