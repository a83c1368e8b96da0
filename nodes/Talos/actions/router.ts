// The Talos node's item loop: resource + operation → the operation's execute for one item;
// failures mapped to NodeApiError/NodeOperationError (actions/errors.ts); continueOnFail gives an
// error item paired with its input; connections are closed when the items are done.

import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';
import type { Operation } from './common.ts';
import { toNodeError } from './errors.ts';
import { Session } from './session.ts';
import { operations as etcd } from './etcd/Etcd.resource.ts';
import { operations as kubernetes } from './kubernetes/Kubernetes.resource.ts';
import { operations as machine } from './machine/Machine.resource.ts';
import { operations as service } from './service/Service.resource.ts';

const resources: Record<string, Record<string, Operation>> = { machine, etcd, service, kubernetes };

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const input = this.getInputData();
  const session = new Session(this);
  const output: INodeExecutionData[] = [];
  try {
    for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
      const resource = this.getNodeParameter('resource', itemIndex) as string;
      const operation = this.getNodeParameter('operation', itemIndex) as string;
      const handler = resources[resource]?.[operation];
      if (!handler) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of resource "${resource}" is not supported`, { itemIndex });
      try {
        output.push(...(await handler.execute.call(this, itemIndex, session)));
      } catch (error) {
        const mapped = toNodeError(this.getNode(), error, itemIndex);
        if (this.continueOnFail()) {
          // Only error/message/details keys: n8n routes such items to the error output.
          output.push({ json: { error: mapped.message, ...(mapped.description ? { details: { description: mapped.description } } : {}) }, pairedItem: { item: itemIndex } });
          continue;
        }
        throw mapped;
      }
    }
  } finally {
    session.close();
  }
  return [output];
}
