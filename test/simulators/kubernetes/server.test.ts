// The Kubernetes API fake on its own, over HTTPS with a client certificate.

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { KubernetesFake } from './server.ts';

describe('Kubernetes API fake', () => {
  const fake = new KubernetesFake({ nodes: ['cp-1', 'worker-1', 'worker-2'], rolloutMs: 200, helmMs: 100 });

  async function call(method: string, path: string, body?: unknown, contentType = 'application/json', withCert = true): Promise<{ status: number; json: any }> {
    const url = new URL(path, fake.url);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return await new Promise((resolve, reject) => {
      const req = request(url, { method, ca: fake.ca.cert, ...(withCert ? { cert: fake.clientCert.cert, key: fake.clientCert.key } : {}), headers: payload ? { 'content-type': contentType } : {} }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  before(async () => fake.start());
  after(async () => fake.stop());

  it('requires a client certificate', async () => {
    await assert.rejects(call('GET', '/api', undefined, 'application/json', false));
  });

  it('serves discovery', async () => {
    assert.deepEqual((await call('GET', '/api')).json.versions, ['v1']);
    const groups = (await call('GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    assert.ok(groups.includes('apps') && groups.includes('helm.toolkit.fluxcd.io'));
    const apps = (await call('GET', '/apis/apps/v1')).json.resources;
    assert.ok(apps.some((r: { name: string; namespaced: boolean }) => r.name === 'deployments' && r.namespaced));
    assert.equal((await call('GET', '/apis/nope/v1')).status, 404);
  });

  it('applies server-side with field managers, conflicts and dry run; deployments roll out', async () => {
    const manifest = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers: [{name: web, image: nginx:1.27}]\n';
    const path = '/apis/apps/v1/namespaces/default/deployments/web';
    assert.equal((await call('PATCH', path, manifest, 'application/apply-patch+yaml')).status, 400);
    const dry = await call('PATCH', `${path}?fieldManager=n8n&dryRun=All`, manifest, 'application/apply-patch+yaml');
    assert.equal(dry.status, 201);
    assert.equal((await call('GET', path)).status, 404);
    const created = await call('PATCH', `${path}?fieldManager=n8n`, manifest, 'application/apply-patch+yaml');
    assert.equal(created.status, 201);
    assert.equal(created.json.metadata.generation, 1);
    const conflict = await call('PATCH', `${path}?fieldManager=other`, manifest.replace('replicas: 2', 'replicas: 3'), 'application/apply-patch+yaml');
    assert.equal(conflict.status, 409);
    assert.match(conflict.json.message, /conflict with "n8n": \.spec\.replicas/);
    const forced = await call('PATCH', `${path}?fieldManager=other&force=true`, manifest.replace('replicas: 2', 'replicas: 3'), 'application/apply-patch+yaml');
    assert.equal(forced.status, 200);
    assert.equal(forced.json.spec.replicas, 3);
    assert.ok((forced.json.status.readyReplicas ?? 0) < 3);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const done = (await call('GET', path)).json;
    assert.equal(done.status.readyReplicas, 3);
    assert.equal(done.status.updatedReplicas, 3);
    const pods = (await call('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).json.items;
    assert.equal(pods.length, 3);
    const scaled = await call('PATCH', `${path}/scale`, { spec: { replicas: 1 } }, 'application/merge-patch+json');
    assert.equal(scaled.json.spec.replicas, 1);
  });

  it('cordons nodes, lists pods by node and evicts them (429 under a disruption budget)', async () => {
    const node = await call('PATCH', '/api/v1/nodes/worker-1', { spec: { unschedulable: true } }, 'application/strategic-merge-patch+json');
    assert.equal(node.json.spec.unschedulable, true);
    const pods = (await call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dworker-1')).json.items;
    assert.ok(pods.length >= 1);
    const pod = pods[0];
    const evicted = await call('POST', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace } });
    assert.equal(evicted.status, 201);
    assert.equal((await call('GET', `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`)).status, 404);
  });

  it('makes Flux HelmReleases Ready and runs a HelmChart install job', async () => {
    const release = { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', metadata: { name: 'podinfo', namespace: 'default' }, spec: { interval: '5m', chart: { spec: { chart: 'podinfo', version: '6.7.0', sourceRef: { kind: 'HelmRepository', name: 'podinfo' } } } } };
    await call('PATCH', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/podinfo?fieldManager=n8n', JSON.stringify(release), 'application/apply-patch+yaml');
    await new Promise((resolve) => setTimeout(resolve, 150));
    const ready = (await call('GET', '/apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/podinfo')).json;
    assert.equal(ready.status.conditions[0].status, 'True');
    const chart = { apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', metadata: { name: 'traefik', namespace: 'kube-system' }, spec: { chart: 'traefik', repo: 'https://traefik.github.io/charts' } };
    await call('PATCH', '/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/traefik?fieldManager=n8n', JSON.stringify(chart), 'application/apply-patch+yaml');
    const status = (await call('GET', '/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/traefik')).json.status;
    assert.equal(status.jobName, 'helm-install-traefik');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await call('GET', '/apis/helm.cattle.io/v1/namespaces/kube-system/helmcharts/traefik');
    const job = (await call('GET', '/apis/batch/v1/namespaces/kube-system/jobs/helm-install-traefik')).json;
    assert.equal(job.status.succeeded, 1);
  });
});
