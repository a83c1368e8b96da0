// RFC 6238 time-based one-time passwords as Proxmox VE's TOTP second factor uses them
// (HMAC-SHA-1, 30-second steps, 6 digits), from the base32 secret (RFC 4648) shown when the
// factor is added. node:crypto only: no dependency.

import { createHmac } from 'node:crypto';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const clean = (text: string): string => text.replace(/[\s-]+/g, '').replace(/=+$/, '').toUpperCase();

/** Why `text` is not a usable base32 secret (a message that does not repeat it), or undefined. */
export function base32Problem(text: string): string | undefined {
  const chars = clean(text);
  if (chars === '') return 'the TOTP secret is empty';
  if (![...chars].every((char) => BASE32.includes(char))) return 'the TOTP secret is not base32 (letters A–Z and digits 2–7)';
  return undefined;
}

/**
 * Decodes an RFC 4648 base32 secret. Case, spaces, dashes and `=` padding are tolerated (apps
 * show the secret in groups); anything else is refused with a message that does not repeat it.
 */
export function decodeBase32(text: string): Buffer {
  const problem = base32Problem(text);
  if (problem) throw new Error(problem);
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of clean(text)) {
    const value = BASE32.indexOf(char);
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** The HOTP value (RFC 4226) of `key` for `counter`, as a zero-padded string of `digits` digits. */
export function hotp(key: Buffer, counter: number, digits = 6): string {
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The TOTP code (RFC 6238: SHA-1, 30 s, 6 digits) of a base32 secret at `timeMs`. */
export function totp(secretBase32: string, timeMs = Date.now(), stepSeconds = 30, digits = 6): string {
  return hotp(decodeBase32(secretBase32), Math.floor(timeMs / 1000 / stepSeconds), digits);
}
