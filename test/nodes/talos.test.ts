// The Talos node on the real n8n engine against the Talos simulator (gRPC, mutual TLS, Ed25519)
// and the Kubernetes API fake (HTTPS, client certificates): the "build new cluster" sequence,
// an upgrade that waits for the node to come back, etcd/service/Kubernetes operations, and the
// errors a user sees for a bad talosconfig, a wrong CA and an unreachable endpoint.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, INodeParameters } from 'n8n-workflow';
import { createEngine, type Engine, type StoredCredential, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';
import { TalosSimulator } from '../simulators/talos/simulator.ts';
import { KubernetesFake } from '../simulators/kubernetes/server.ts';

const { Talos } = await import('../../nodes/Talos/Talos.node.ts');
const { TalosApi } = await import('../../credentials/TalosApi.credentials.ts');
const { KubernetesApi } = await import('../../credentials/KubernetesApi.credentials.ts');

const START = 'Start';
const TYPE = 'n8n-nodes-cortex.talos';

function chain(nodes: WorkflowNodeJson[]): WorkflowJson {
  const all: WorkflowNodeJson[] = [{ name: START, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} }, ...nodes];
  const connections: WorkflowJson['connections'] = {};
  for (let i = 0; i + 1 < all.length; i++) connections[all[i]!.name] = { main: [[{ node: all[i + 1]!.name, type: 'main', index: 0 }]] };
  return { nodes: all, connections };
}

function talos(name: string, credential: string, parameters: INodeParameters, extra: Partial<WorkflowNodeJson> = {}): WorkflowNodeJson {
  return { name, type: TYPE, typeVersion: 1, parameters, credentials: { talosApi: { id: credential, name: credential } }, ...extra };
}

const MANIFEST = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx:1.27
`;

describe('Talos node on the n8n engine', () => {
  const kube = new KubernetesFake({ nodes: ['cp-1', 'cp-2', 'cp-3'], rolloutMs: 300, helmMs: 200 });
  let sim: TalosSimulator;
  /** A second cluster, one control plane node, for disaster recovery from the first one's snapshot. */
  let dr: TalosSimulator;
  /** A third cluster whose nodes are reset (one control plane, workers): the other clusters stay intact. */
  let rs: TalosSimulator;
  let engine: Engine;
  const credentials: Record<string, StoredCredential> = {};

  before(async () => {
    await kube.start();
    sim = new TalosSimulator({ kubernetes: kube.access, timing: { downMs: 300, bootMs: 150, stopMs: 50 } });
    await sim.start();
    dr = new TalosSimulator({ machineIps: ['127.0.0.21'], endpointIp: '127.0.0.20', clusterName: 'cortex-dr', timing: { downMs: 100, bootMs: 100, stopMs: 20 } });
    await dr.start();
    rs = new TalosSimulator({ machineIps: ['127.0.0.51', '127.0.0.52', '127.0.0.53', '127.0.0.54', '127.0.0.55'], endpointIp: '127.0.0.50', clusterName: 'cortex-rs', timing: { downMs: 150, bootMs: 80, stopMs: 30 } });
    await rs.start();
    credentials.rs = { id: 'rs', name: 'rs', data: { source: 'talosconfig', talosconfig: rs.talosconfig(), context: '' } };
    credentials.dr = { id: 'dr', name: 'dr', data: { source: 'talosconfig', talosconfig: dr.talosconfig(), context: '' } };
    credentials.maintenance = { id: 'maintenance', name: 'maintenance', data: { source: 'manual', endpoints: '', maintenance: true } };
    credentials.admin = { id: 'admin', name: 'admin', data: { source: 'talosconfig', talosconfig: sim.talosconfig(), context: '' } };
    credentials.badContext = { id: 'badContext', name: 'badContext', data: { source: 'talosconfig', talosconfig: sim.talosconfig('prod'), context: 'staging' } };
    credentials.notYaml = { id: 'notYaml', name: 'notYaml', data: { source: 'talosconfig', talosconfig: 'context: [unclosed', context: '' } };
    credentials.wrongCa = {
      id: 'wrongCa',
      name: 'wrongCa',
      data: { source: 'manual', endpoints: sim.endpoint, ca: kube.ca.cert, crt: sim.clientCert.cert, key: sim.clientCert.key },
    };
    credentials.unreachable = {
      id: 'unreachable',
      name: 'unreachable',
      data: { source: 'manual', endpoints: '127.0.0.1:1', ca: sim.ca.cert, crt: Buffer.from(sim.clientCert.cert).toString('base64'), key: Buffer.from(sim.clientCert.key).toString('base64') },
    };
    // The first endpoint refuses connections: calls go on through the second, as talosctl fails over.
    credentials.failover = {
      id: 'failover',
      name: 'failover',
      data: { source: 'manual', endpoints: `127.0.0.1:1, ${sim.endpoint}`, ca: sim.ca.cert, crt: sim.clientCert.cert, key: sim.clientCert.key },
    };
    credentials.allDown = {
      id: 'allDown',
      name: 'allDown',
      data: { source: 'manual', endpoints: '127.0.0.1:1, 127.0.0.1:2', ca: sim.ca.cert, crt: sim.clientCert.cert, key: sim.clientCert.key },
    };
    engine = createEngine({
      nodeTypes: [Talos],
      credentialTypes: [TalosApi, KubernetesApi],
      credentials: { talosApi: Object.values(credentials), kubernetesApi: [] },
    });
  });

  after(async () => {
    await rs.stop();
    await dr.stop();
    await sim.stop();
    await kube.stop();
  });

  it('builds a new cluster: apply config to 3 maintenance-mode nodes, bootstrap, health, kubeconfig, apply a manifest, wait for the rollout', async () => {
    const machines = sim.machines.map((machine, index) => ({
      json: { address: sim.addressOf(machine), ip: machine.ip, config: sim.machineConfig('controlplane', `cp-${index + 1}`) },
    }));
    const first = sim.machines[0]!.ip;
    const result = await engine.run(
      chain([
        talos('Apply Config', 'maintenance', { resource: 'machine', operation: 'applyConfiguration', node: '={{ $json.address }}', config: '={{ $json.config }}', mode: 'AUTO' }),
        talos('Bootstrap', 'admin', { resource: 'machine', operation: 'bootstrap', node: first, waitTimeout: 20, retryInterval: 0.1 }, { executeOnce: true }),
        talos('Health', 'admin', { resource: 'machine', operation: 'health', waitTimeout: 20 }),
        talos('Kubeconfig', 'admin', { resource: 'machine', operation: 'kubeconfig', node: first, output: 'json', binaryPropertyName: 'kubeconfig' }),
        talos('Apply Manifest', 'admin', { resource: 'kubernetes', operation: 'apply', kubeconfigSource: 'talos', node: first, manifests: MANIFEST, fieldManager: 'n8n' }),
        talos('Wait Rollout', 'admin', { resource: 'kubernetes', operation: 'waitForRollout', kubeconfigSource: 'talos', node: first, kind: 'Deployment', name: 'web', namespace: 'shop', rolloutTimeout: 10, pollInterval: 0.05 }, { executeOnce: true }),
      ]),
      { startNodeData: machines },
    );
    assert.equal(result.status, 'success', String(result.error?.message));

    const applied = result.jsonOf('Apply Config');
    assert.equal(applied.length, 3);
    for (const item of applied) assert.equal(item.mode, 'REBOOT');
    assert.deepEqual(result.jsonOf('Bootstrap').map((b) => b.bootstrapped), [true]);
    const health = result.jsonOf('Health')[0]!;
    assert.equal(health.healthy, true);
    assert.ok((health.progress as string[]).includes('waiting for etcd to be healthy: OK'));
    const kubeconfig = result.outputOf('Kubeconfig')[0]![0]!;
    assert.equal(kubeconfig.json['current-context'], `admin@${sim.clusterName}`);
    assert.ok(kubeconfig.binary?.kubeconfig);
    assert.deepEqual(result.jsonOf('Apply Manifest').map((o) => `${o.kind}/${o.name}`), ['Namespace/shop', 'Deployment/web']);
    const rollout = result.jsonOf('Wait Rollout')[0]!;
    assert.equal(rollout.rolledOut, true);
    assert.equal(rollout.readyReplicas, 3);
    assert.ok(kube.requests.some((r) => r.method === 'PATCH' && r.contentType === 'application/apply-patch+yaml' && r.path.includes('fieldManager=n8n')));
    assert.ok(sim.calls.filter((c) => c.method === 'ApplyConfiguration').every((c) => c.node === undefined));

    // Bootstrap is safe to re-run.
    const again = await engine.run(chain([talos('Bootstrap', 'admin', { resource: 'machine', operation: 'bootstrap', node: sim.machines[1]!.ip, waitTimeout: 0 })]));
    assert.equal(again.status, 'success', String(again.error?.message));
    assert.equal(again.jsonOf('Bootstrap')[0]!.alreadyBootstrapped, true);
  });

  it('upgrades a node and waits until it is back with a new boot id (events for the actor id, reconnects)', async () => {
    const target = sim.machines[1]!;
    const bootIdBefore = target.bootId;
    const result = await engine.run(
      chain([talos('Upgrade', 'admin', { resource: 'machine', operation: 'upgrade', node: target.ip, image: 'ghcr.io/siderolabs/installer:v1.9.6', wait: true, waitTimeout: 20, retryInterval: 0.1 })]),
    );
    assert.equal(result.status, 'success', String(result.error?.message));
    const out = result.jsonOf('Upgrade')[0]!;
    assert.equal(out.bootIdBefore, bootIdBefore);
    assert.equal(out.bootIdAfter, target.bootId);
    assert.notEqual(out.bootIdAfter, bootIdBefore);
    assert.equal(out.version, 'v1.9.6');
    assert.ok((out.reconnects as number) >= 1);
    const progress = out.progress as string[];
    assert.ok(progress.some((line) => line.startsWith('stage: UPGRADING')), progress.join('\n'));
    assert.ok(progress.some((line) => line === 'stage: RUNNING ready: true'), progress.join('\n'));
  });

  it('reboots, lists services and etcd members, takes a verified etcd snapshot, dry-runs a config change', async () => {
    const cp3 = sim.machines[2]!;
    const result = await engine.run(
      chain([
        talos('Reboot', 'admin', { resource: 'machine', operation: 'reboot', node: cp3.ip, waitTimeout: 20, retryInterval: 0.1 }),
        talos('Services', 'admin', { resource: 'service', operation: 'list', node: cp3.ip }, { executeOnce: true }),
        talos('Members', 'admin', { resource: 'etcd', operation: 'listMembers', node: sim.machines[0]!.ip }, { executeOnce: true }),
        talos('Snapshot', 'admin', { resource: 'etcd', operation: 'snapshot', node: sim.machines[0]!.ip, binaryPropertyName: 'snapshot', fileName: 'etcd.db' }, { executeOnce: true }),
        talos('Dry Run', 'admin', { resource: 'machine', operation: 'applyConfiguration', node: cp3.ip, config: sim.machineConfig('controlplane', 'cp-3', { kubelet: { extraArgs: { 'rotate-server-certificates': 'true' } } }), mode: 'AUTO', dryRun: true }, { executeOnce: true }),
      ]),
    );
    assert.equal(result.status, 'success', String(result.error?.message));
    assert.notEqual(result.jsonOf('Reboot')[0]!.bootIdAfter, result.jsonOf('Reboot')[0]!.bootIdBefore);
    assert.ok(result.jsonOf('Services').some((s) => s.id === 'etcd' && s.state === 'Running'));
    assert.deepEqual(result.jsonOf('Members').map((m) => m.hostname).sort(), ['cp-1', 'cp-2', 'cp-3']);
    const snapshot = result.outputOf('Snapshot')[0]![0]!;
    assert.equal(snapshot.json.integrityHashVerified, true);
    assert.ok((snapshot.json.size as number) > 32);
    assert.equal(snapshot.binary?.snapshot?.fileName, 'etcd.db');
    const bytes = Buffer.from(snapshot.binary!.snapshot!.data, 'base64');
    assert.equal(createHash('sha256').update(bytes).digest('hex'), snapshot.json.sha256);
    const dry = result.jsonOf('Dry Run')[0]!;
    assert.equal(dry.mode, 'NO_REBOOT');
    assert.match(String(dry.diff), /\+\s+rotate-server-certificates: "true"/);
  });

  it('recovers another cluster\'s etcd from a snapshot: integrity checked first, uploaded, bootstrapped, waited for; refused once etcd runs', async () => {
    const source = await engine.run(
      chain([talos('Snapshot', 'admin', { resource: 'etcd', operation: 'snapshot', node: sim.machines[0]!.ip, binaryPropertyName: 'data' })]),
    );
    assert.equal(source.status, 'success', String(source.error?.message));
    const snapshot = source.outputOf('Snapshot')[0]![0]!;
    const good = Buffer.from(snapshot.binary!.data!.data, 'base64');
    const corrupt = Buffer.from(good);
    corrupt[100] = corrupt[100]! ^ 0xff;
    const cp = dr.machines[0]!;
    const asItem = (bytes: Buffer) => ({ json: {}, binary: { data: { data: bytes.toString('base64'), mimeType: 'application/octet-stream', fileName: 'etcd.snapshot' } } });
    const recover = (credential: string, extra: INodeParameters = {}) =>
      talos('Recover', credential, { resource: 'etcd', operation: 'recover', node: cp.ip, binaryPropertyName: 'data', waitTimeout: 10, retryInterval: 0.05, ...extra });

    const configured = await engine.run(
      chain([talos('Apply Config', 'maintenance', { resource: 'machine', operation: 'applyConfiguration', node: dr.addressOf(cp), config: dr.machineConfig('controlplane', 'dr-1'), mode: 'AUTO' })]),
    );
    assert.equal(configured.status, 'success', String(configured.error?.message));

    const refused = await engine.run(chain([recover('dr')]), { startNodeData: [asItem(corrupt)] });
    assert.equal(refused.status, 'error');
    assert.equal(refused.error!.name, 'NodeOperationError');
    assert.match(refused.error!.message, /integrity check/);
    assert.ok(!dr.calls.some((c) => c.method === 'EtcdRecover'), 'a damaged snapshot is not uploaded');

    const recovered = await engine.run(chain([recover('dr')]), { startNodeData: [asItem(good)] });
    assert.equal(recovered.status, 'success', String(recovered.error?.message));
    const out = recovered.jsonOf('Recover')[0]!;
    assert.equal(out.recovered, true);
    assert.equal(out.etcdState, 'Running');
    assert.equal(out.sha256, snapshot.json.sha256);
    assert.equal(dr.recoveredFrom, snapshot.json.sha256, 'the node bootstrapped from the uploaded snapshot');
    assert.ok(dr.calls.some((c) => c.method === 'EtcdRecover' && c.node === cp.ip));

    const uploads = dr.calls.filter((c) => c.method === 'EtcdRecover').length;
    const again = await engine.run(chain([recover('dr')]), { startNodeData: [asItem(good)] });
    assert.equal(again.status, 'error');
    assert.equal(again.error!.name, 'NodeOperationError');
    assert.match(again.error!.message, /etcd on 127\.0\.0\.21 is already running: recovery needs a control plane node whose etcd has not started/);
    assert.equal(dr.calls.filter((c) => c.method === 'EtcdRecover').length, uploads, 'nothing is uploaded to a node whose etcd runs');
  });

  describe('reset', () => {
    const reset = (name: string, node: string, parameters: INodeParameters) =>
      talos(name, 'rs', { resource: 'machine', operation: 'reset', node, graceful: true, wipeMode: 'ALL', waitTimeout: 20, retryInterval: 0.1, ...parameters });

    before(async () => {
      const machines = rs.machines.map((machine, index) => ({
        json: { address: rs.addressOf(machine), config: rs.machineConfig(index === 0 ? 'controlplane' : 'worker', `rs-${index + 1}`) },
      }));
      const result = await engine.run(
        chain([
          talos('Apply Config', 'maintenance', { resource: 'machine', operation: 'applyConfiguration', node: '={{ $json.address }}', config: '={{ $json.config }}', mode: 'AUTO' }),
          talos('Bootstrap', 'rs', { resource: 'machine', operation: 'bootstrap', node: rs.machines[0]!.ip, waitTimeout: 20, retryInterval: 0.1 }, { executeOnce: true }),
        ]),
        { startNodeData: machines },
      );
      assert.equal(result.status, 'success', String(result.error?.message));
      const deadline = Date.now() + 10_000;
      while (!rs.machines.every((m) => m.up && m.ready && !m.maintenance)) {
        assert.ok(Date.now() < deadline, 'the reset cluster came up');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    it('with Reboot waits until the node is back in maintenance mode: new boot id, Version over the insecure API says maintenance', async () => {
      const target = rs.machines[1]!;
      const bootIdBefore = target.bootId;
      const result = await engine.run(
        chain([
          reset('Reset', target.ip, { reboot: true, wait: true }),
          talos('Version', 'maintenance', { resource: 'machine', operation: 'version', node: rs.addressOf(target) }),
        ]),
      );
      assert.equal(result.status, 'success', String(result.error?.message));
      const out = result.jsonOf('Reset')[0]!;
      assert.equal(out.waited, true);
      assert.equal(out.state, 'maintenance');
      assert.equal(out.platformMode, 'maintenance');
      assert.equal(out.maintenanceAddress, rs.addressOf(target));
      assert.equal(out.reboot, true);
      assert.ok(out.actorId);
      assert.equal(out.bootIdBefore, bootIdBefore);
      assert.notEqual(target.bootId, bootIdBefore, 'the node booted again');
      assert.equal(target.maintenance, true);
      assert.ok((out.reconnects as number) >= 1);
      const progress = out.progress as string[];
      assert.ok(progress.includes(`actor ID: ${out.actorId}`), progress.join('\n'));
      assert.ok(progress.some((line) => line.startsWith('stage: RESETTING')), progress.join('\n'));
      assert.ok(progress.some((line) => line.startsWith('task: resetSystemDisk')), progress.join('\n'));
      assert.equal(progress.at(-1), `post check passed: the node answers in maintenance mode at ${rs.addressOf(target)}`);
      const version = result.jsonOf('Version')[0]!;
      assert.equal(version.platformMode, 'maintenance');
      assert.equal(version.maintenance, true);
    });

    it('without Reboot waits until the node has powered off', async () => {
      const target = rs.machines[2]!;
      const result = await engine.run(chain([reset('Reset', target.ip, { reboot: false, wait: true })]));
      assert.equal(result.status, 'success', String(result.error?.message));
      const out = result.jsonOf('Reset')[0]!;
      assert.equal(out.waited, true);
      assert.equal(out.state, 'poweredOff');
      assert.equal(target.up, false);
      assert.equal(target.poweredOff, true);
      const progress = out.progress as string[];
      assert.ok(progress.some((line) => line.startsWith('stage: RESETTING')), progress.join('\n'));
      assert.equal(progress.at(-1), 'node is off');
    });

    it('with Wait off returns at once with the actor id', async () => {
      const target = rs.machines[3]!;
      const result = await engine.run(chain([reset('Reset', target.ip, { reboot: false, wait: false })]));
      assert.equal(result.status, 'success', String(result.error?.message));
      const out = result.jsonOf('Reset')[0]!;
      assert.equal(out.waited, false);
      assert.ok(out.actorId);
      assert.equal(out.hostname, 'rs-4');
      assert.equal(out.progress, undefined);
      assert.equal(target.poweredOff, false, 'the reply came before the node went down');
      const deadline = Date.now() + 5000;
      while (!target.poweredOff) {
        assert.ok(Date.now() < deadline, 'the node powers off after the reply');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });

    it('gives a NodeApiError saying what was last seen when the wait runs out', async () => {
      const target = rs.machines[4]!;
      // The node stays down longer than the wait.
      const downMs = rs.timing.downMs;
      rs.timing.downMs = 30_000;
      try {
        const result = await engine.run(chain([reset('Reset', target.ip, { reboot: true, wait: true, waitTimeout: 5, retryInterval: 0.2 })]));
        assert.equal(result.status, 'error');
        const error = result.error!;
        assert.equal(error.name, 'NodeApiError');
        assert.match(error.message, new RegExp(`did not come back in maintenance mode \\(insecure API at ${rs.addressOf(target).replace(/\./g, '\\.')}\\) within 5 s \\(\\d+ reconnects\\); last seen: unavailable, retrying`));
        // The description lists the last progress: the stream dropped, then the retries (counted, not repeated).
        assert.match(String(error.description), /connection dropped \(node going down\)\nunavailable, retrying\.\.\. \(Cannot reach the Talos API at [\d.:]+: .*connection refused.*\) \(x\d+\)/);
      } finally {
        rs.timing.downMs = downMs;
      }
    });

    it('still refuses a graceful reset of the last etcd member (the Reset call fails before any wait)', async () => {
      const cp = rs.machines[0]!;
      const bootId = cp.bootId;
      const result = await engine.run(chain([reset('Reset', cp.ip, { reboot: true, wait: true })]));
      assert.equal(result.status, 'error');
      assert.equal(result.error!.name, 'NodeApiError');
      assert.match(result.error!.message, /refusing to leave the cluster gracefully.*\[FAILED_PRECONDITION from node rs-1 \(127\.0\.0\.51\) via 127\.0\.0\.50:\d+\]/);
      assert.equal(cp.up, true);
      assert.equal(cp.bootId, bootId);
      assert.equal(cp.maintenance, false);
    });
  });

  it('scales, cordons, drains and uncordons, lists nodes and pods, deploys a Helm chart through Flux and a HelmChart', async () => {
    const first = sim.machines[0]!.ip;
    const k = (name: string, parameters: INodeParameters) => talos(name, 'admin', { resource: 'kubernetes', kubeconfigSource: 'talos', node: first, ...parameters }, { executeOnce: true });
    const result = await engine.run(
      chain([
        k('Scale', { operation: 'scale', scaleKind: 'Deployment', name: 'web', namespace: 'shop', replicas: 4 }),
        k('Rollout', { operation: 'waitForRollout', kind: 'Deployment', name: 'web', namespace: 'shop', rolloutTimeout: 10, pollInterval: 0.05 }),
        k('Drain', { operation: 'drain', nodeName: 'cp-2', drainTimeout: 10, retryInterval: 0.05 }),
        k('Nodes', { operation: 'getNodes' }),
        k('Uncordon', { operation: 'uncordon', nodeName: 'cp-2' }),
        k('Pods', { operation: 'getPods', namespace: 'shop', labelSelector: 'app=web' }),
        k('Flux', { operation: 'deployHelmChart', helmMethod: 'flux', releaseName: 'podinfo', namespace: 'flux-system', chart: 'podinfo', chartVersion: '6.7.0', repoUrl: 'https://stefanprodan.github.io/podinfo', values: 'replicaCount: 2', helmTimeout: 10, pollInterval: 0.05 }),
        k('HelmChart', { operation: 'deployHelmChart', helmMethod: 'helmChart', releaseName: 'traefik', namespace: 'kube-system', chart: 'traefik', repoUrl: 'https://traefik.github.io/charts', helmTimeout: 10, pollInterval: 0.05 }),
        k('Dry Apply', { operation: 'apply', manifests: MANIFEST.replace('replicas: 3', 'replicas: 9'), dryRun: true, force: true }),
      ]),
    );
    assert.equal(result.status, 'success', String(result.error?.message));
    assert.equal(result.jsonOf('Rollout')[0]!.readyReplicas, 4);
    const drain = result.jsonOf('Drain')[0]!;
    assert.ok((drain.evicted as unknown[]).length >= 1);
    assert.ok((drain.skipped as Array<{ reason: string }>).some((s) => s.reason === 'DaemonSet pod'));
    assert.ok((drain.skipped as Array<{ reason: string }>).some((s) => s.reason === 'mirror pod'));
    assert.equal(result.jsonOf('Nodes').find((n) => n.name === 'cp-2')!.unschedulable, true);
    assert.equal(result.jsonOf('Uncordon')[0]!.unschedulable, false);
    assert.ok(result.jsonOf('Pods').every((p) => p.node !== 'cp-2'));
    assert.equal(result.jsonOf('Flux')[0]!.ready, true);
    assert.match(String(result.jsonOf('Flux')[0]!.message), /Helm install succeeded/);
    assert.equal(result.jsonOf('HelmChart')[0]!.ready, true);
    assert.equal(kube.get('apps', 'deployments', 'shop', 'web')!.spec.replicas, 4, 'dry run must not change the deployment');
    assert.ok(kube.requests.some((r) => r.path.includes('dryRun=All')));
  });

  it('tests credentials by calling Version over gRPC (maintenance mode and mTLS)', async () => {
    const test = new Talos().methods.credentialTest.talosApiConnectionTest;
    const call = (data: IDataObject) => test.call({} as never, { id: 'x', name: 'x', type: 'talosApi', data } as never);
    const ok = await call(credentials.admin!.data as IDataObject);
    assert.equal(ok.status, 'OK', ok.message);
    assert.match(ok.message, /Talos v1\.9/);
    const bad = await call(credentials.wrongCa!.data as IDataObject);
    assert.equal(bad.status, 'Error');
    assert.match(bad.message, /TLS handshake/);
  });

  it('names what is wrong with a bad talosconfig (NodeOperationError)', async () => {
    for (const [credential, pattern] of [
      ['badContext', /Talosconfig has no context "staging" \(available: prod\)/],
      ['notYaml', /Talosconfig is not valid YAML/],
    ] as const) {
      const result = await engine.run(chain([talos('Version', credential, { resource: 'machine', operation: 'version' })]));
      assert.equal(result.status, 'error');
      const error = result.error!;
      assert.equal(error.name, 'NodeOperationError');
      assert.match(error.message, pattern);
    }
  });

  it('reports a wrong CA as a TLS error and an unreachable endpoint with its address, within bounded time', async () => {
    const started = Date.now();
    const wrongCa = await engine.run(chain([talos('Version', 'wrongCa', { resource: 'machine', operation: 'version', timeout: 5 })]));
    assert.equal(wrongCa.status, 'error');
    const tlsError = wrongCa.error!;
    assert.equal(tlsError.name, 'NodeApiError');
    assert.match(tlsError.message, /TLS handshake with 127\.0\.0\.10:\d+ failed: the server certificate is not signed by the credential's CA/);
    assert.match(tlsError.message, /UNAVAILABLE/);

    const unreachable = await engine.run(chain([talos('Version', 'unreachable', { resource: 'machine', operation: 'version', timeout: 3 })]));
    assert.equal(unreachable.status, 'error');
    assert.equal(unreachable.error!.name, 'NodeApiError');
    assert.match(unreachable.error!.message, /Cannot reach the Talos API at 127\.0\.0\.1:1/);
    assert.ok(Date.now() - started < 15_000);
  });

  it('fails over to the next endpoint when one cannot be reached, and names every endpoint when none can', async () => {
    const node = sim.machines[0]!.ip;
    const result = await engine.run(chain([talos('Version', 'failover', { resource: 'machine', operation: 'version', node, timeout: 10 })]));
    assert.equal(result.status, 'success', result.error?.message);
    assert.equal(result.jsonOf('Version')[0]!.node, node);
    assert.ok(result.jsonOf('Version')[0]!.tag, 'the node answered through the second endpoint');
    assert.ok(result.jsonOf('Version')[0]!.hostname);

    const down = await engine.run(chain([talos('Version', 'allDown', { resource: 'machine', operation: 'version', node, timeout: 3 })]));
    assert.equal(down.status, 'error');
    assert.match(down.error!.message, /Cannot reach the Talos API at 127\.0\.0\.1:1, 127\.0\.0\.1:2 \(node /);
  });

  it('carries the gRPC status and the node hostname in API errors; continueOnFail gives an error item', async () => {
    const result = await engine.run(
      chain([talos('Remove', 'admin', { resource: 'etcd', operation: 'removeMember', node: sim.machines[0]!.ip, memberId: '42' }, { continueOnFail: true })]),
    );
    assert.equal(result.status, 'success');
    const item = result.jsonOf('Remove')[0]!;
    assert.match(String(item.error), /member not found \[NOT_FOUND from node cp-1 \(127\.0\.0\.11\) via 127\.0\.0\.10:\d+\]/);
  });
});
