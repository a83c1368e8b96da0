// "Next VMID + create" made safe against races. /cluster/nextid reserves nothing: two callers
// (two items of one execution, or two workflows) get the same id, and the second create fails
// with "… already exists on node …". The allocator skips ids it already handed out in this
// execution, and withNextVmid moves on to a fresh id when a create still collides (bounded).

import { isAlreadyExists, ProxmoxError } from './errors.ts';
import type { ProxmoxClient } from './client.ts';
import { settle, type ClientSettings } from './retry.ts';

export class VmidAllocator {
  private readonly claimed = new Set<number>();
  private floor: Promise<number> | undefined;

  /**
   * A free id: from the server's next free id up, skipping ids of guests the execution's
   * cluster listing shows and ids handed to other items of this execution. One
   * /cluster/nextid per execution (again after a collision), not one per item.
   */
  async next(client: ProxmoxClient, settings: ClientSettings): Promise<number> {
    this.floor ??= client.get<string | number>('/cluster/nextid', undefined, settings).then((raw) => {
      const vmid = Number(raw);
      if (!Number.isInteger(vmid) || vmid < 100) throw new ProxmoxError(`/cluster/nextid answered "${String(raw)}", not a VMID`, { kind: 'http' });
      return vmid;
    });
    const floor = this.floor;
    const listed = new Set((await client.guests(settings)).map((guest) => Number(guest.vmid)));
    let vmid = await floor;
    for (let skipped = 0; skipped <= this.claimed.size + listed.size && (this.claimed.has(vmid) || listed.has(vmid)); skipped++) vmid += 1;
    this.claimed.add(vmid);
    return vmid;
  }

  /** An id found taken by someone else: ask the server again next time. */
  taken(vmid: number): void {
    this.claimed.add(vmid);
    this.floor = undefined;
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
