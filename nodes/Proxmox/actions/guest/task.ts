// Running a task operation on an existing guest: resolve it, answer a dry run, or send the
// request through the transport's runTask (retries, lock waits, task wait) and shape the output.

import type { IDataObject, IExecuteFunctions, IHttpRequestMethods } from 'n8n-workflow';
import type { GuestRef } from '../../transport/client.ts';
import type { ApiParams } from '../../transport/encode.ts';
import type { ProxmoxError } from '../../transport/errors.ts';
import type { ClientSettings } from '../../transport/retry.ts';
import { dryRun, guestPath, guestRef, settings, taskOutput, type GuestResource, type OperationContext } from '../shared.ts';

export interface GuestTaskSpec {
  method: IHttpRequestMethods;
  /** After /nodes/{node}/{qemu|lxc}/{vmid}. */
  suffix: string;
  params?: ApiParams;
  alreadyDone?: (error: ProxmoxError) => boolean;
  extra?: IDataObject;
}

export async function guestTask(
  this: IExecuteFunctions,
  itemIndex: number,
  ctx: OperationContext,
  resource: GuestResource,
  spec: GuestTaskSpec | ((ref: GuestRef, s: ClientSettings) => GuestTaskSpec | Promise<GuestTaskSpec>),
): Promise<IDataObject> {
  const s = settings.call(this, itemIndex);
  const ref = await guestRef.call(this, itemIndex, resource, ctx.client, s);
  const resolved = typeof spec === 'function' ? await spec(ref, s) : spec;
  const path = guestPath(ref, resolved.suffix);
  const base = { vmid: ref.vmid, node: ref.node, ...(resolved.extra ?? {}) };
  const request = { method: resolved.method, path, ...(resolved.params ? { params: resolved.params } : {}) };
  if (s.dryRun) return dryRun([request], base);
  const outcome = await ctx.client.runTask({ ...request, guest: ref, ...(resolved.alreadyDone ? { alreadyDone: resolved.alreadyDone } : {}) }, s);
  return taskOutput(outcome, base);
}
