// After a lost answer, "VM N already exists" may mean our own first attempt made it. Ours when
// the guest has the name we asked for (checked once any clone/create lock is gone); without a
// name only an id the user chose counts as ours (an id from /cluster/nextid may be anyone's).

import type { IDataObject } from 'n8n-workflow';
import type { GuestRef, ProxmoxClient } from '../../transport/client.ts';
import { isAlreadyExists, type ProxmoxError } from '../../transport/errors.ts';
import type { ClientSettings } from '../../transport/retry.ts';
import { guestPath } from '../shared.ts';

export function ownedAlready(client: ProxmoxClient, ref: GuestRef, expected: { name?: string; fixedId: boolean }, s: ClientSettings): (error: ProxmoxError) => Promise<boolean> {
  return async (error) => {
    if (!isAlreadyExists(error)) return false;
    if (!expected.name) return expected.fixedId;
    await client.waitForUnlock(ref, Date.now() + s.lockWaitTimeoutMs, s, true);
    const config = await client.get<IDataObject>(guestPath(ref, '/config'), undefined, s);
    return (config?.name ?? config?.hostname) === expected.name;
  };
}
