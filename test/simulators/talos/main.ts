// A Talos lab on loopback: `node test/simulators/talos/main.ts` (Node 24).
// Starts the Talos simulator and the Kubernetes API fake its kubeconfig points at, writes a talosconfig and the machine configs into a folder, and
// prints how to reach everything. Environment: TALOS_SIM_PORT (default 50000), TALOS_SIM_DIR
// (default ./talos-lab), KUBE_SIM_PORT (default: any free port).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubernetesFake } from '../kubernetes/server.ts';
import { TalosSimulator } from './simulator.ts';

const port = Number(process.env.TALOS_SIM_PORT ?? 50000);
const dir = resolve(process.env.TALOS_SIM_DIR ?? 'talos-lab');

const kubernetes = new KubernetesFake({ nodes: ['cp-1', 'cp-2', 'cp-3', 'worker-4'], rolloutMs: 5000, helmMs: 5000 });
await kubernetes.start(Number(process.env.KUBE_SIM_PORT ?? 0));
const sim = new TalosSimulator({ port, kubernetes: kubernetes.access, machineIps: ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'], timing: { downMs: 3000, bootMs: 2000, stopMs: 500 } });
await sim.start();

mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'talosconfig'), sim.talosconfig());
writeFileSync(join(dir, 'ca.crt'), sim.ca.cert);
writeFileSync(join(dir, 'admin.crt'), sim.clientCert.cert);
writeFileSync(join(dir, 'admin.key'), sim.clientCert.key);
sim.machines.forEach((machine, index) => {
  const role = index < 3 ? 'controlplane' : 'worker';
  writeFileSync(join(dir, `${machine.ip}.yaml`), sim.machineConfig(role, `${role === 'controlplane' ? 'cp' : 'worker'}-${index + 1}`));
});

const lines = [
  `Kubernetes API fake: ${kubernetes.url} (the kubeconfig from the Talos Kubeconfig call points here once bootstrapped)`,
  `Talos simulator: endpoint ${sim.endpoint} (mTLS; talosconfig in ${dir}/talosconfig)`,
  ...sim.machines.map((m) => `  machine ${m.ip}:${sim.port}  maintenance mode (insecure) until a config is applied; config: ${dir}/${m.ip}.yaml`),
  'Ctrl-C stops.',
];
console.log(lines.join('\n'));

const stop = async () => {
  await sim.stop();
  await kubernetes.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
