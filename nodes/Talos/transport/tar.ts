// Reads the .tar.gz Talos streams for Kubeconfig: gunzip, then walk 512-byte ustar headers.

import { gunzipSync } from 'node:zlib';

export function readTarGz(archive: Buffer, maxEntries = 64): Map<string, Buffer> {
  const tar = gunzipSync(archive);
  const files = new Map<string, Buffer>();
  let offset = 0;
  for (let entry = 0; entry < maxEntries && offset + 512 <= tar.length; entry++) {
    const block = tar.subarray(offset, offset + 512);
    if (block.every((byte) => byte === 0)) break;
    const name = block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = block.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(block.subarray(124, 136).toString('utf8').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(block[156] ?? 48);
    if (!Number.isFinite(size) || size < 0) throw new Error('corrupt tar header');
    const start = offset + 512;
    if (start + size > tar.length) throw new Error('truncated tar archive');
    if (type === '0' || type === '\0') files.set((prefix ? `${prefix}/` : '') + name.replace(/^\.\//, ''), Buffer.from(tar.subarray(start, start + size)));
    offset = start + Math.ceil(size / 512) * 512;
  }
  return files;
}
