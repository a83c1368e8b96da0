// Shared by reboot, shutdown, upgrade and reset: run the action through actAndWait
// (transport/wait.ts) with the item's wait settings, or just run it when waiting is off.
// `until` is the state the wait ends in: 'ready' (back with a new boot id), 'off' (powered off),
// 'maintenance' (back without configuration, answering the insecure maintenance API).

import { sleep, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';
import type { TalosClient } from '../../transport/client.ts';
import { actAndWait, type WaitUntil } from '../../transport/wait.ts';
import type { Session } from '../session.ts';

/** The output's `state`: how the wait ended. */
const STATES: Record<WaitUntil, string> = { ready: 'running', off: 'poweredOff', maintenance: 'maintenance' };

export async function runLifecycleAction(
  ctx: IExecuteFunctions,
  itemIndex: number,
  session: Session,
  action: (client: TalosClient, call: { node?: string; timeoutMs: number }) => Promise<{ reply: Record<string, any>; actorId: string }>,
  until: WaitUntil,
): Promise<IDataObject> {
  const { client, call } = await session.talos(itemIndex);
  const wait = ctx.getNodeParameter('wait', itemIndex, true) as boolean;
  const base = { node: call.node ?? client.endpoint };
  if (!wait) {
    const { reply, actorId } = await action(client, call);
    return { ...base, hostname: reply.metadata?.hostname ?? '', actorId, waited: false };
  }
  const timeoutMs = Number(ctx.getNodeParameter('waitTimeout', itemIndex, 600)) * 1000;
  const retryDelayMs = Math.max(50, Number(ctx.getNodeParameter('retryInterval', itemIndex, 2)) * 1000);
  const connect = await session.connector(itemIndex);
  const maintenance = until === 'maintenance' ? await session.maintenanceConnector(itemIndex) : undefined;
  const result = await actAndWait(
    {
      connect,
      maintenance,
      sleep: async (ms) => await sleep(ms),
      node: call.node,
      timeoutMs,
      retryDelayMs,
      // Bounded: enough attempts to cover the whole timeout at the retry interval.
      maxAttempts: Math.min(10_000, Math.ceil(timeoutMs / retryDelayMs) + 1),
      callTimeoutMs: call.timeoutMs,
    },
    async (fresh) => await action(fresh, call),
    until,
  );
  return {
    ...base,
    hostname: result.reply.metadata?.hostname ?? '',
    actorId: result.actorId,
    waited: true,
    state: STATES[result.state],
    ...(result.platformMode ? { platformMode: result.platformMode } : {}),
    ...(maintenance ? { maintenanceAddress: maintenance.address } : {}),
    bootIdBefore: result.bootIdBefore,
    ...(result.bootIdAfter ? { bootIdAfter: result.bootIdAfter } : {}),
    reconnects: result.reconnects,
    durationMs: result.durationMs,
    progress: result.progress,
  };
}
