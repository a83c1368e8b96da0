import { sleep, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { stillBooting, toNodeError } from '../errors.ts';
import { TalosApiError } from '../../transport/errors.ts';

export const description: INodeProperties[] = forOperation('machine', 'bootstrap', [
  {
    displayName: 'Wait for the Node (Seconds)',
    name: 'waitTimeout',
    type: 'number',
    default: 600,
    description: 'How long to keep retrying while the node is still installing or booting (unreachable, or "time is not in sync"); 0: try once',
  },
  { displayName: 'Retry Interval (Seconds)', name: 'retryInterval', type: 'number', typeOptions: { numberPrecision: 2 }, default: 5 },
]);

/** Safe to re-run: Talos answers AlreadyExists ("etcd data directory is not empty") once bootstrapped. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const node = call.node ?? client.endpoint;
  const waitMs = Math.max(0, Number(this.getNodeParameter('waitTimeout', itemIndex, 600)) * 1000);
  const retryMs = Math.max(50, Number(this.getNodeParameter('retryInterval', itemIndex, 5)) * 1000);
  const started = Date.now();
  const maxAttempts = Math.ceil(waitMs / retryMs) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const fresh = attempt === 1 ? client : (await session.connector(itemIndex))();
      try {
        const messages = await fresh.unary('machine.MachineService', 'Bootstrap', {}, call);
        return items(itemIndex, [{ node, hostname: messages[0]?.metadata?.hostname ?? '', bootstrapped: true, alreadyBootstrapped: false, attempts: attempt }]);
      } finally {
        if (fresh !== client) fresh.close();
      }
    } catch (error) {
      if (error instanceof TalosApiError && error.codeName === 'ALREADY_EXISTS') {
        return items(itemIndex, [{ node, hostname: error.hostname ?? '', bootstrapped: true, alreadyBootstrapped: true, message: error.message, attempts: attempt }]);
      }
      if (!stillBooting(error) || attempt >= maxAttempts || Date.now() - started + retryMs > waitMs) throw toNodeError(this.getNode(), error, itemIndex);
    }
    await sleep(retryMs);
  }
}
