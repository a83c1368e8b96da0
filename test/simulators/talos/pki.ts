// Certificates for the simulators, made with the openssl CLI (node:crypto makes keys but not
// X.509 certificates). Talos's PKI is Ed25519: a CA, the apid server certificate and the admin
// client certificate (organisation "os:admin"); the client key PEM is labelled
// "ED25519 PRIVATE KEY" as talosctl writes it. The Kubernetes fake uses ECDSA P-256, as a
// Talos-issued kubeconfig does.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyAlgorithm = 'ed25519' | 'ec';

export interface CertPair {
  cert: string;
  key: string;
}

export interface LeafOptions {
  commonName: string;
  organization?: string;
  /** IP addresses and DNS names for subjectAltName. */
  ips?: string[];
  dnsNames?: string[];
  usage: 'server' | 'client' | 'both';
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

function genKey(dir: string, file: string, algorithm: KeyAlgorithm): void {
  if (algorithm === 'ed25519') openssl(dir, ['genpkey', '-algorithm', 'ed25519', '-out', file]);
  else openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

function subject(commonName: string, organization?: string): string {
  return `${organization ? `/O=${organization}` : ''}/CN=${commonName}`;
}

function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'cortex-pki-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A self-signed CA. */
export function createCa(commonName: string, algorithm: KeyAlgorithm, organization?: string): CertPair {
  return withTempDir((dir) => {
    genKey(dir, 'ca.key', algorithm);
    const digest = algorithm === 'ec' ? ['-sha256'] : [];
    openssl(dir, [
      'req', '-x509', '-new', '-key', 'ca.key', ...digest, '-subj', subject(commonName, organization), '-days', '3650', '-out', 'ca.crt',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ]);
    return { cert: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'ca.key'), 'utf8') };
  });
}

/** A certificate signed by `ca`, with a new key of the CA's algorithm (or `algorithm`). */
export function issueCert(ca: CertPair, options: LeafOptions, algorithm: KeyAlgorithm = keyAlgorithm(ca.key)): CertPair {
  return withTempDir((dir) => {
    writeFileSync(join(dir, 'ca.crt'), ca.cert);
    writeFileSync(join(dir, 'ca.key'), toPkcs8Label(ca.key));
    genKey(dir, 'leaf.key', algorithm);
    const digest = algorithm === 'ec' ? ['-sha256'] : [];
    openssl(dir, ['req', '-new', '-key', 'leaf.key', '-subj', subject(options.commonName, options.organization), '-out', 'leaf.csr']);
    const sans = [...(options.ips ?? []).map((ip) => `IP:${ip}`), ...(options.dnsNames ?? []).map((name) => `DNS:${name}`)];
    const usage = options.usage === 'server' ? 'serverAuth' : options.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
    const extensions = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', `extendedKeyUsage=${usage}`];
    if (sans.length) extensions.push(`subjectAltName=${sans.join(',')}`);
    writeFileSync(join(dir, 'ext.cnf'), `${extensions.join('\n')}\n`);
    openssl(dir, [
      'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Date.now()), ...digest,
      '-days', '365', '-extfile', 'ext.cnf', '-out', 'leaf.crt',
    ]);
    return { cert: readFileSync(join(dir, 'leaf.crt'), 'utf8'), key: readFileSync(join(dir, 'leaf.key'), 'utf8') };
  });
}

/** A self-signed server certificate (what a Talos node in maintenance mode presents). */
export function selfSigned(commonName: string, ips: string[]): CertPair {
  return withTempDir((dir) => {
    genKey(dir, 'self.key', 'ed25519');
    const sans = ips.map((ip) => `IP:${ip}`).join(',');
    openssl(dir, ['req', '-x509', '-new', '-key', 'self.key', '-subj', subject(commonName), '-days', '365', '-out', 'self.crt', ...(sans ? ['-addext', `subjectAltName=${sans}`] : [])]);
    return { cert: readFileSync(join(dir, 'self.crt'), 'utf8'), key: readFileSync(join(dir, 'self.key'), 'utf8') };
  });
}

/** Relabels an Ed25519 PKCS#8 key the way Talos/talosctl write it. */
export function talosKeyLabel(pem: string): string {
  return pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '-----$1 ED25519 PRIVATE KEY-----');
}

function toPkcs8Label(pem: string): string {
  return pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, '-----$1 PRIVATE KEY-----');
}

function keyAlgorithm(pem: string): KeyAlgorithm {
  return /EC PRIVATE KEY/.test(pem) || pemIsEc(pem) ? 'ec' : 'ed25519';
}

function pemIsEc(pem: string): boolean {
  try {
    return execFileSync('openssl', ['pkey', '-noout', '-text'], { input: toPkcs8Label(pem), stdio: ['pipe', 'pipe', 'ignore'], timeout: 10_000 })
      .toString()
      .includes('ASN1 OID');
  } catch {
    return false;
  }
}
