import { type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';

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
  const { value, attempts } = await session.whileBooting(
    itemIndex,
    session.bootWait(itemIndex, 600),
    async (fresh) => {
      const messages = await fresh.unary('machine.MachineService', 'Bootstrap', {}, call);
      return { node, hostname: messages[0]?.metadata?.hostname ?? '', bootstrapped: true, alreadyBootstrapped: false };
    },
    (error) => ({ node, hostname: error.hostname ?? '', bootstrapped: true, alreadyBootstrapped: true, message: error.message }),
  );
  return items(itemIndex, [{ ...value, attempts }]);
}
