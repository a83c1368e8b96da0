// Certificates for the simulator: a per-cluster CA (as `pvecm` creates one) and a server
// certificate it signs, for 127.0.0.1 / localhost and the node names. Generated with the
// openssl CLI (node:crypto cannot issue X.509 certificates) into a temporary folder that is
// removed again at once; EC P-256 keys keep it fast (a few tens of milliseconds).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SimulatorCertificates {
  /** PEM of the CA: what a user pastes into the credential's "CA Certificate" field. */
  caPem: string;
  certPem: string;
  keyPem: string;
}

function openssl(cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** A fresh CA and a server certificate signed by it. `names` become DNS subject alternative names. */
export function generateCertificates(names: string[] = []): SimulatorCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'pve-sim-certs-'));
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, [
      'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '3650', '-sha256',
      '-subj', `/CN=Proxmox Virtual Environment/OU=${Date.now().toString(16)}/O=PVE Cluster Manager CA`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pve-simulator/O=PVE Cluster Node/OU=Simulator']);
    const dns = ['localhost', ...names].map((name) => `DNS:${name}`).join(',');
    writeFileSync(
      join(dir, 'ext.cnf'),
      [`subjectAltName=IP:127.0.0.1,IP:::1,${dns}`, 'basicConstraints=CA:FALSE', 'keyUsage=digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', ''].join('\n'),
    );
    openssl(dir, [
      'x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'server.pem', '-days', '825', '-sha256', '-extfile', 'ext.cnf',
    ]);
    return {
      caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
      certPem: readFileSync(join(dir, 'server.pem'), 'utf8'),
      keyPem: readFileSync(join(dir, 'server.key'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
