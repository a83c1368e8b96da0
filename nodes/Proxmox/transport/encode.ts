// Request encoding for the Proxmox API: form bodies with booleans as 0/1, and the values that
// need their own encoding first (cloud-init sshkeys).

export type ApiValue = string | number | boolean | undefined | null;
export type ApiParams = Record<string, ApiValue>;

/** Drops unset values, turns booleans into 1/0 and numbers into strings. */
export function cleanParams(params: ApiParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    out[key] = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  return out;
}

/** What pve-common accepts for format 'urlencoded'. */
const URLENCODED = /^[-%a-zA-Z0-9_.!~*'()]*$/;

/**
 * Cloud-init `sshkeys`: the keys, one per line, percent-encoded as a whole (spaces as %20,
 * '+', '/', '=', '@' and newlines encoded too) — then form-encoded again as part of the body.
 * A value that is already percent-encoded (only URL-safe characters and at least one %XX) is
 * kept as it is, so workflows that encoded it themselves keep working.
 */
export function encodeSshKeys(keys: string | string[]): string {
  const text = Array.isArray(keys) ? keys.join('\n') : keys;
  const trimmed = text.trim();
  if (URLENCODED.test(trimmed) && /%[0-9A-Fa-f]{2}/.test(trimmed)) return trimmed;
  const lines = trimmed
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  return encodeURIComponent(lines.join('\n'));
}

const SSH_KEY = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

/** Problems with a list of OpenSSH public keys (one per line), for validation before sending. */
export function sshKeyProblems(keys: string): string[] {
  let text = keys.trim();
  if (URLENCODED.test(text) && /%[0-9A-Fa-f]{2}/.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      return ['the value looks percent-encoded but cannot be decoded'];
    }
  }
  const problems: string[] = [];
  text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .forEach((line, index) => {
      if (line && !line.startsWith('#') && !SSH_KEY.test(line)) problems.push(`line ${index + 1} is not an OpenSSH public key ("${line.slice(0, 24)}…")`);
    });
  return problems;
}

const IPV4 = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/;
const IPV4_CIDR = /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)\/([0-9]|[12]\d|3[0-2])$/;
const IPV6_CIDR = /^[0-9a-fA-F:]+\/\d{1,3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;

export interface IpConfig {
  ip?: string;
  gateway?: string;
  ip6?: string;
  gateway6?: string;
}

/** Builds a cloud-init ipconfigN value ("ip=10.0.0.5/24,gw=10.0.0.1"), or lists what is wrong. */
export function ipConfigValue(config: IpConfig): { value?: string; problems: string[] } {
  const problems: string[] = [];
  const parts: string[] = [];
  const ip = config.ip?.trim();
  const gw = config.gateway?.trim();
  const ip6 = config.ip6?.trim();
  const gw6 = config.gateway6?.trim();
  if (ip) {
    if (ip !== 'dhcp' && !IPV4_CIDR.test(ip)) problems.push(`IPv4 "${ip}" must be "dhcp" or an address with prefix length, e.g. 10.0.0.5/24`);
    parts.push(`ip=${ip}`);
  }
  if (gw) {
    if (!IPV4.test(gw)) problems.push(`IPv4 gateway "${gw}" is not an IPv4 address`);
    parts.push(`gw=${gw}`);
  }
  if (ip6) {
    if (!['dhcp', 'auto'].includes(ip6) && !IPV6_CIDR.test(ip6)) problems.push(`IPv6 "${ip6}" must be "dhcp", "auto" or an address with prefix length`);
    parts.push(`ip6=${ip6}`);
  }
  if (gw6) {
    if (!IPV6.test(gw6)) problems.push(`IPv6 gateway "${gw6}" is not an IPv6 address`);
    parts.push(`gw6=${gw6}`);
  }
  return { ...(parts.length ? { value: parts.join(',') } : {}), problems };
}

/** Disk size for resize: "+10G" (grow by) or "50G" (grow to). */
export function isDiskSize(size: string): boolean {
  return /^\+?\d+(\.\d+)?[KMGT]?$/.test(size);
}

/** Snapshot names (pve-configid): a letter, then letters, digits, '-' or '_'; at most 40. */
export function isSnapshotName(name: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9_-]+$/.test(name) && name.length <= 40 && name !== 'current';
}

/** dns-name: guest names and hostnames. */
export function isDnsName(name: string): boolean {
  return /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(name);
}
