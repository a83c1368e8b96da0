// Cloud-init after the fact: write the settings, make sure a drive exists, regenerate it.

import type { IDataObject } from 'n8n-workflow';
import type { GuestRef, ProxmoxClient } from '../../transport/client.ts';
import type { ApiParams } from '../../transport/encode.ts';
import { ProxmoxError } from '../../transport/errors.ts';
import type { ClientSettings } from '../../transport/retry.ts';
import { guestPath } from '../shared.ts';

export function hasCloudInitDrive(config: IDataObject): boolean {
  return Object.entries(config).some(([key, value]) => /^(ide|sata|scsi)\d+$/.test(key) && String(value).includes('cloudinit'));
}

/** PUT config (if any settings) and PUT cloudinit; fails before changing anything when the VM has no cloud-init drive. */
export async function applyCloudInit(client: ProxmoxClient, ref: GuestRef, params: ApiParams, s: ClientSettings): Promise<void> {
  const deadline = Date.now() + s.lockWaitTimeoutMs;
  // A clone still running has only `lock: clone` in its config yet.
  if (s.waitForLock) await client.waitForUnlock(ref, deadline, s, true);
  const config = await client.get<IDataObject>(guestPath(ref, '/config'), undefined, s);
  if (!hasCloudInitDrive({ ...config, ...params })) {
    throw new ProxmoxError(`VM ${ref.vmid} has no cloud-init drive, so cloud-init settings would not reach the guest (add one, e.g. ide2 = local-lvm:cloudinit)`, {
      kind: 'http',
      path: guestPath(ref, '/config'),
    });
  }
  if (Object.keys(params).length) await client.write({ method: 'PUT', path: guestPath(ref, '/config'), params, guest: ref }, s);
  await client.write({ method: 'PUT', path: guestPath(ref, '/cloudinit'), guest: ref }, s);
}
