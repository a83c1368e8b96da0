// "Next VMID + create" made safe against races. /cluster/nextid reserves nothing: two callers
// (two items of one execution, or two workflows) get the same id, and the second create fails
// with "… already exists on node …". The allocator skips ids it already handed out in this
// execution, and withNextVmid moves on to a fresh id when a create still collides (bounded).

import { isAlreadyExists, ProxmoxError } from './errors.ts';
import type { ProxmoxClient } from './client.ts';
import { settle, type ClientSettings } from './retry.ts';

export class VmidAllocator {
  private readonly claimed = new Set<number>();

  /** The server's next free id, skipping ids claimed by other items of this execution. */
  async next(client: ProxmoxClient, settings: ClientSettings): Promise<number> {
    const raw = await client.get<string | number>('/cluster/nextid', undefined, settings);
    let vmid = Number(raw);
    if (!Number.isInteger(vmid) || vmid < 100) throw new ProxmoxError(`/cluster/nextid answered "${String(raw)}", not a VMID`, { kind: 'http' });
    for (let skipped = 0; skipped <= this.claimed.size && this.claimed.has(vmid); skipped++) vmid += 1;
    this.claimed.add(vmid);
    return vmid;
  }

  /** An id found taken by someone else. */
  taken(vmid: number): void {
    this.claimed.add(vmid);
  }
}

export const MAX_VMID_COLLISIONS = 10;

/**
 * Runs `create` with `fixed`, or with the next free VMID; on "already exists" (another caller
 * took the id between nextid and the create) tries the next one, at most MAX_VMID_COLLISIONS times.
 */
export async function withNextVmid<T>(
  allocator: VmidAllocator,
  client: ProxmoxClient,
  settings: ClientSettings,
  fixed: number | undefined,
  create: (vmid: number) => Promise<T>,
): Promise<{ vmid: number; value: T; collisions: number }> {
  if (fixed !== undefined) return { vmid: fixed, value: await create(fixed), collisions: 0 };
  for (let collisions = 0; ; collisions++) {
    const vmid = await allocator.next(client, settings);
    const created = await settle(create(vmid));
    if (created.ok) return { vmid, value: created.value, collisions };
    if (!isAlreadyExists(created.error) || collisions >= MAX_VMID_COLLISIONS) throw created.error;
    allocator.taken(vmid);
  }
}
