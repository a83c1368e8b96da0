import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { messageMatches, ProxmoxError } from '../../transport/errors.ts';
import { settle } from '../../transport/retry.ts';
import { guestTask } from './task.ts';
import { forOperation, guestField, LABEL, nodeField, optionsField, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

export type PowerAction = 'start' | 'stop' | 'shutdown' | 'reboot';

/** POST …/status/{start|stop|shutdown|reboot}: a task; waits for it by default. */
export function makePower(resource: GuestResource, action: PowerAction): Operation {
  const label = LABEL[resource];
  const extra: INodeProperties[] = [];
  if (action === 'start') {
    extra.push({
      displayName: 'Succeed If Already Running',
      name: 'alreadyRunningOk',
      type: 'boolean',
      default: false,
      description: `Whether a ${label.toLowerCase()} that is already running counts as success (Proxmox ends the start task with an error)`,
    });
  }
  if (action === 'shutdown') {
    extra.push({ displayName: 'Force Stop After Timeout', name: 'forceStop', type: 'boolean', default: false, description: 'Whether to stop the guest hard if it has not shut down within the timeout' });
  }
  if (action === 'shutdown' || action === 'reboot' || (action === 'stop' && resource === 'vm')) {
    extra.push({ displayName: 'Guest Timeout (Seconds)', name: 'guestTimeout', type: 'number', typeOptions: { minValue: 0 }, default: 0, description: 'Proxmox-side timeout for the guest (0: Proxmox default)' });
  }
  const description: INodeProperties[] = forOperation(resource, action, [
    nodeField({ auto: true }),
    guestField(resource, resource === 'vm' ? 'searchVms' : 'searchContainers'),
    optionsField({ changing: true, task: true, lockable: true, extra }),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
    const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
    const params: IDataObject = {};
    if (action === 'shutdown' && options.forceStop === true) params.forceStop = true;
    if (Number(options.guestTimeout ?? 0) > 0) params.timeout = Number(options.guestTimeout);
    const alreadyPattern = action === 'start' ? /already running/ : undefined;
    const result = await settle(
      guestTask.call(this, itemIndex, ctx, resource, {
        method: 'POST',
        suffix: `/status/${action}`,
        params: params as Record<string, number | boolean>,
        ...(alreadyPattern ? { alreadyDone: (error: ProxmoxError) => messageMatches(error, alreadyPattern) } : {}),
        extra: { action },
      }),
    );
    if (result.ok) return result.value;
    const error = result.error;
    if (alreadyPattern && options.alreadyRunningOk === true && error instanceof ProxmoxError && messageMatches(error, alreadyPattern)) {
      return { action, status: 'OK', alreadyRunning: true, upid: error.details.upid ?? null, note: error.message };
    }
    throw error;
  }

  return { description, execute };
}
