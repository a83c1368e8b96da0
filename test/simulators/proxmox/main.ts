// Standalone Proxmox VE simulator for a local lab:
//   node test/simulators/proxmox/main.ts --port 8006 [--time-scale 1] [--lock-wait-ms 10000]
//        [--clone-source-lock-ms 1000] [--transient-failure-rate 0] [--ticket-lifetime-ms 7200000]
//        [--legacy-login] [--ca-out pve-ca.pem]
// Prints the base URL, the API tokens, the users' passwords (and TOTP secrets), and writes the CA certificate
// (paste it into the credential's "CA Certificate" field) to --ca-out.

import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_TOKENS, DEFAULT_USERS, ProxmoxSimulator } from './server.ts';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8006' },
    'time-scale': { type: 'string', default: '1' },
    'lock-wait-ms': { type: 'string', default: '10000' },
    'clone-source-lock-ms': { type: 'string', default: '1000' },
    'ticket-lifetime-ms': { type: 'string', default: String(2 * 3600_000) },
    'legacy-login': { type: 'boolean', default: false },
    'transient-failure-rate': { type: 'string', default: '0' },
    'ca-out': { type: 'string', default: 'pve-simulator-ca.pem' },
  },
});

const sim = await ProxmoxSimulator.start({
  host: values.host,
  port: Number(values.port),
  timeScale: Number(values['time-scale']),
  lockWaitMs: Number(values['lock-wait-ms']),
  cloneSourceLockMs: Number(values['clone-source-lock-ms']),
  ticketLifetimeMs: Number(values['ticket-lifetime-ms']),
  legacyLogin: values['legacy-login'],
  transientFailureRate: Number(values['transient-failure-rate']),
});
writeFileSync(values['ca-out']!, sim.caPem);
console.log(`Proxmox VE simulator on ${sim.url} (API ${sim.url}/api2/json)`);
console.log(`CA certificate written to ${values['ca-out']}`);
for (const user of DEFAULT_USERS) console.log(`user ${user.userid} password ${user.password}${user.totp ? ` TOTP secret ${user.totp.secret}` : ''}`);
for (const token of DEFAULT_TOKENS) console.log(`token ${token.tokenid} secret ${token.secret}${token.privileges ? ` (privileges: ${[token.privileges].flat().join(', ')})` : ''}`);

const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
