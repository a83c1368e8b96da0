// Kubernetes API fake over HTTPS with client-certificate authentication (a kubeconfig as Talos
// issues it), enough for the Talos node's Kubernetes operations:
//   - discovery: /api, /api/v1, /apis, /apis/<group>/<version>;
//   - server-side apply: PATCH application/apply-patch+yaml with fieldManager (required) and force;
//     fields are owned per manager and a change to another manager's field is a 409 conflict
//     unless forced; dryRun=All answers without storing;
//   - GET, LIST (labelSelector k=v, fieldSelector spec.nodeName=), DELETE, merge patches;
//   - deployments roll out: status.updatedReplicas/readyReplicas converge over `rolloutMs`
//     (an image containing "does-not-exist" never becomes ready); pods follow the replicas on
//     schedulable nodes; the scale subresource;
//   - nodes (cordon = spec.unschedulable), pods and evictions (POST …/pods/<p>/eviction; pods
//     labelled cortex.dev/pdb=block answer 429 like a PodDisruptionBudget);
//   - Flux HelmRelease becomes Ready (or fails for chart "fail"); a k3s HelmChart gets a
//     helm-install Job that succeeds.

import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { createCa, issueCert, type CertPair } from '../talos/pki.ts';
import { apiVersionOf, findType, groupList, resourceList, type ResourceType } from './resources.ts';

type Obj = Record<string, any>;

export interface KubernetesFakeOptions {
  /** Node names to start with. */
  nodes?: string[];
  /** How long a deployment rollout and a Helm install take. */
  rolloutMs?: number;
  helmMs?: number;
  host?: string;
}

class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  constructor(code: number, reason: string, message: string) {
    super(message);
    this.code = code;
    this.reason = reason;
  }
}

interface Stored {
  type: ResourceType;
  object: Obj;
  /** field path → manager. */
  owners: Map<string, string>;
  /** When the current spec generation was written. */
  changedAt: number;
}

export class KubernetesFake {
  readonly ca: CertPair;
  readonly serverCert: CertPair;
  readonly clientCert: CertPair;
  readonly rolloutMs: number;
  readonly helmMs: number;
  readonly requests: Array<{ method: string; path: string; contentType: string | undefined }> = [];
  private readonly objects = new Map<string, Stored>();
  private server: Server | undefined;
  private resourceVersion = 1;
  private readonly host: string;
  url = '';

  constructor(options: KubernetesFakeOptions = {}) {
    this.rolloutMs = options.rolloutMs ?? 400;
    this.helmMs = options.helmMs ?? 300;
    this.host = options.host ?? '127.0.0.1';
    this.ca = createCa('kubernetes', 'ec');
    this.serverCert = issueCert(this.ca, { commonName: 'kube-apiserver', ips: [this.host], dnsNames: ['localhost', 'kubernetes'], usage: 'server' });
    this.clientCert = issueCert(this.ca, { commonName: 'admin', organization: 'system:masters', usage: 'client' });
    for (const ns of ['default', 'kube-system', 'flux-system']) this.put(this.type('', 'v1', 'namespaces'), { metadata: { name: ns } }, 'kube-apiserver');
    for (const name of options.nodes ?? []) this.addNode(name);
  }

  get access(): { server: string; ca: string; cert: string; key: string } {
    return { server: this.url, ca: this.ca.cert, cert: this.clientCert.cert, key: this.clientCert.key };
  }

  async start(port = 0): Promise<void> {
    this.server = createServer(
      { key: this.serverCert.key, cert: this.serverCert.cert, ca: this.ca.cert, requestCert: true, rejectUnauthorized: true },
      (req, res) => void this.handle(req, res),
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, this.host, () => resolve());
    });
    this.url = `https://${this.host}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A node with the static pods and DaemonSet pods a Talos node runs. */
  addNode(name: string, role: 'controlplane' | 'worker' = name.includes('cp') ? 'controlplane' : 'worker'): void {
    if (this.get('', 'nodes', '', name)) return;
    const labels: Obj = { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' };
    if (role === 'controlplane') labels['node-role.kubernetes.io/control-plane'] = '';
    this.put(this.type('', 'v1', 'nodes'), {
      metadata: { name, labels },
      spec: {},
      status: {
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' }],
        nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Talos (v1.9.5)', containerRuntimeVersion: 'containerd://2.0.1' },
        addresses: [{ type: 'Hostname', address: name }],
      },
    }, 'kubelet');
    const pods = this.type('', 'v1', 'pods');
    this.put(pods, {
      metadata: { name: `kube-flannel-${randomBytes(3).toString('hex')}`, namespace: 'kube-system', labels: { app: 'flannel' }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'kube-flannel', uid: 'ds-flannel' }] },
      spec: { nodeName: name, containers: [{ name: 'kube-flannel', image: 'ghcr.io/siderolabs/flannel:v0.26.1' }] },
      status: { phase: 'Running' },
    }, 'kube-controller-manager');
    if (role === 'controlplane') {
      this.put(pods, {
        metadata: { name: `kube-apiserver-${name}`, namespace: 'kube-system', annotations: { 'kubernetes.io/config.mirror': randomUUID() }, labels: { component: 'kube-apiserver' } },
        spec: { nodeName: name, containers: [{ name: 'kube-apiserver', image: 'registry.k8s.io/kube-apiserver:v1.32.0' }] },
        status: { phase: 'Running' },
      }, 'kubelet');
    }
  }

  /** Stored object (fresh status), for tests. */
  get(group: string, plural: string, namespace: string, name: string): Obj | undefined {
    const stored = this.objects.get(key(group, plural, namespace, name));
    if (!stored) return undefined;
    this.animate(stored);
    return stored.object;
  }

  list(group: string, plural: string, namespace?: string): Obj[] {
    const out: Obj[] = [];
    for (const stored of this.objects.values()) {
      if (stored.type.group !== group || stored.type.plural !== plural) continue;
      if (namespace && stored.object.metadata.namespace !== namespace) continue;
      this.animate(stored);
      out.push(stored.object);
    }
    return out.sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  }

  private type(group: string, version: string, plural: string): ResourceType {
    const type = findType(group, version, plural);
    if (!type) throw new Error(`unknown type ${group}/${version}/${plural}`);
    return type;
  }

  // --- HTTP --------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://fake');
    this.requests.push({ method: req.method ?? '', path: url.pathname + url.search, contentType: req.headers['content-type'] });
    try {
      const body = await readBody(req);
      const { status, json } = this.route(req.method ?? 'GET', url, req.headers['content-type'] ?? '', body);
      send(res, status, json);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String((error as Error).stack ?? error));
      send(res, apiError.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: apiError.message, reason: apiError.reason, code: apiError.code });
    }
  }

  private route(method: string, url: URL, contentType: string, body: string): { status: number; json: unknown } {
    const parts = url.pathname.split('/').filter(Boolean);
    if (method === 'GET' && url.pathname === '/version') return { status: 200, json: { major: '1', minor: '32', gitVersion: 'v1.32.0' } };
    if (method === 'GET' && url.pathname === '/api') return { status: 200, json: { kind: 'APIVersions', versions: ['v1'] } };
    if (method === 'GET' && url.pathname === '/apis') return { status: 200, json: groupList() };
    let group: string;
    let version: string;
    let rest: string[];
    if (parts[0] === 'api' && parts[1]) {
      group = '';
      version = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
      group = parts[1];
      version = parts[2];
      rest = parts.slice(3);
    } else {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    if (rest.length === 0) {
      const list = method === 'GET' ? resourceList(group, version) : undefined;
      if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return { status: 200, json: list };
    }
    let namespace = '';
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      namespace = decodeURIComponent(rest[1]!);
      rest = rest.slice(2);
    }
    const [plural, rawName, subresource] = rest;
    const type = findType(group, version, plural ?? '');
    if (!type) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (type.namespaced !== Boolean(namespace) && rawName !== undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
    const dryRun = url.searchParams.get('dryRun') === 'All';

    if (name === undefined) {
      if (method === 'GET') return { status: 200, json: this.listResponse(type, namespace, url.searchParams) };
      if (method === 'POST') return { status: 201, json: this.create(type, namespace, parseJsonOrYaml(body), dryRun) };
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on a collection here`);
    }
    if (subresource === 'eviction' && type.plural === 'pods' && method === 'POST') return this.evict(namespace, name, dryRun);
    if (subresource === 'scale' && type.plural === 'deployments') return this.scale(method, namespace, name, contentType, body, dryRun);
    if (subresource && subresource !== 'status') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    switch (method) {
      case 'GET':
        return { status: 200, json: this.mustGet(type, namespace, name).object };
      case 'DELETE': {
        const stored = this.mustGet(type, namespace, name);
        if (!dryRun) this.objects.delete(key(type.group, type.plural, namespace, name));
        return { status: 200, json: stored.object };
      }
      case 'PATCH':
        return this.patch(type, namespace, name, url, contentType, body, dryRun);
      case 'PUT': {
        const object = parseJsonOrYaml(body);
        this.mustGet(type, namespace, name);
        return { status: 200, json: this.write(type, namespace, name, object, 'update', dryRun) };
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported`);
    }
  }

  private listResponse(type: ResourceType, namespace: string, params: URLSearchParams): Obj {
    const labels = parseSelector(params.get('labelSelector'));
    const fields = parseSelector(params.get('fieldSelector'));
    const items = this.list(type.group, type.plural, namespace || undefined).filter((object) => {
      for (const [k, v] of labels) if (object.metadata?.labels?.[k] !== v) return false;
      for (const [k, v] of fields) {
        const value = k.split('.').reduce<any>((at, part) => at?.[part], object);
        if (String(value ?? '') !== v) return false;
      }
      return true;
    });
    return { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(this.resourceVersion) }, items };
  }

  private mustGet(type: ResourceType, namespace: string, name: string): Stored {
    const stored = this.objects.get(key(type.group, type.plural, namespace, name));
    if (!stored) throw notFound(type, name);
    this.animate(stored);
    return stored;
  }

  private create(type: ResourceType, namespace: string, object: Obj, dryRun: boolean): Obj {
    const name = object?.metadata?.name;
    if (!name) throw new ApiError(422, 'Invalid', `${type.kind} is invalid: metadata.name: Required value`);
    if (this.objects.has(key(type.group, type.plural, namespace, name))) throw new ApiError(409, 'AlreadyExists', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" already exists`);
    return this.write(type, namespace, name, object, 'create', dryRun);
  }

  private patch(type: ResourceType, namespace: string, name: string, url: URL, contentType: string, body: string, dryRun: boolean): { status: number; json: unknown } {
    const media = contentType.split(';')[0]!.trim();
    if (media === 'application/apply-patch+yaml' || media === 'application/apply-patch+json') {
      const manager = url.searchParams.get('fieldManager');
      if (!manager) throw new ApiError(400, 'BadRequest', 'PATCH requests for server-side apply must set fieldManager');
      const force = url.searchParams.get('force') === 'true';
      return this.apply(type, namespace, name, parseJsonOrYaml(body), manager, force, dryRun);
    }
    if (media === 'application/merge-patch+json' || media === 'application/strategic-merge-patch+json') {
      const stored = this.mustGet(type, namespace, name);
      const merged = mergePatch(structuredClone(stored.object), JSON.parse(body || '{}'));
      return { status: 200, json: this.write(type, namespace, name, merged, url.searchParams.get('fieldManager') ?? 'kubectl-patch', dryRun) };
    }
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
  }

  private apply(type: ResourceType, namespace: string, name: string, object: Obj, manager: string, force: boolean, dryRun: boolean): { status: number; json: unknown } {
    if (!object || typeof object !== 'object') throw new ApiError(400, 'BadRequest', 'the apply patch is not an object');
    if (object.apiVersion !== apiVersionOf(type) || object.kind !== type.kind) {
      throw new ApiError(400, 'BadRequest', `the API version in the data (${object.apiVersion}) / kind (${object.kind}) does not match the expected API version (${apiVersionOf(type)}) / kind (${type.kind})`);
    }
    if (object.metadata?.name !== name) throw new ApiError(400, 'BadRequest', `the name of the object (${object.metadata?.name}) does not match the name on the URL (${name})`);
    if (type.namespaced && object.metadata?.namespace && object.metadata.namespace !== namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const existing = this.objects.get(key(type.group, type.plural, namespace, name));
    const paths = leafPaths(stripMeta(object));
    if (existing) {
      const conflicts: string[] = [];
      for (const [path, value] of paths) {
        const owner = existing.owners.get(path);
        const current = getPath(existing.object, path);
        if (owner && owner !== manager && JSON.stringify(current) !== JSON.stringify(value)) conflicts.push(`conflict with "${owner}": .${path}`);
      }
      if (conflicts.length && !force) {
        throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('\n')}`);
      }
      const merged = mergePatch(structuredClone(existing.object), stripMeta(object));
      merged.metadata = { ...merged.metadata, labels: { ...(merged.metadata?.labels ?? {}), ...(object.metadata?.labels ?? {}) }, annotations: { ...(merged.metadata?.annotations ?? {}), ...(object.metadata?.annotations ?? {}) } };
      return { status: 200, json: this.write(type, namespace, name, merged, manager, dryRun, paths) };
    }
    return { status: 201, json: this.write(type, namespace, name, object, manager, dryRun, paths) };
  }

  private write(type: ResourceType, namespace: string, name: string, input: Obj, manager: string, dryRun: boolean, ownedPaths?: Map<string, unknown>): Obj {
    const k = key(type.group, type.plural, namespace, name);
    const existing = this.objects.get(k);
    const object = structuredClone(input);
    object.apiVersion = apiVersionOf(type);
    object.kind = type.kind;
    const previous = existing?.object;
    const specChanged = !previous || JSON.stringify(previous.spec) !== JSON.stringify(object.spec);
    object.metadata = {
      ...(object.metadata ?? {}),
      name,
      ...(type.namespaced ? { namespace } : {}),
      uid: previous?.metadata?.uid ?? randomUUID(),
      creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date().toISOString(),
      generation: (previous?.metadata?.generation ?? 0) + (specChanged ? 1 : 0),
      resourceVersion: String(dryRun ? this.resourceVersion : ++this.resourceVersion),
    };
    if (object.metadata.labels && !Object.keys(object.metadata.labels).length) delete object.metadata.labels;
    if (object.metadata.annotations && !Object.keys(object.metadata.annotations).length) delete object.metadata.annotations;
    if (previous?.status && !input.status) object.status = previous.status;
    const owners = new Map(existing?.owners ?? []);
    for (const path of (ownedPaths ?? leafPaths(stripMeta(object))).keys()) owners.set(path, manager);
    object.metadata.managedFields = [...new Set(owners.values())].map((m) => ({ manager: m, operation: ownedPaths ? 'Apply' : 'Update', apiVersion: object.apiVersion }));
    const stored: Stored = { type, object, owners, changedAt: specChanged ? Date.now() : (existing?.changedAt ?? Date.now()) };
    if (!dryRun) {
      this.objects.set(k, stored);
      this.animate(stored);
    } else {
      this.animate({ ...stored, object });
    }
    return object;
  }

  private put(type: ResourceType, object: Obj, manager: string): void {
    this.write(type, object.metadata.namespace ?? '', object.metadata.name, { apiVersion: apiVersionOf(type), kind: type.kind, ...object }, manager, false);
  }

  private scale(method: string, namespace: string, name: string, contentType: string, body: string, dryRun: boolean): { status: number; json: unknown } {
    const type = this.type('apps', 'v1', 'deployments');
    const stored = this.mustGet(type, namespace, name);
    const toScale = (object: Obj) => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name, namespace, resourceVersion: object.metadata.resourceVersion },
      spec: { replicas: object.spec?.replicas ?? 1 },
      status: { replicas: object.status?.replicas ?? 0, selector: Object.entries(object.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') },
    });
    if (method === 'GET') return { status: 200, json: toScale(stored.object) };
    if (method !== 'PATCH' && method !== 'PUT') throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on scale`);
    if (method === 'PATCH' && !/merge-patch\+json|strategic-merge-patch\+json/.test(contentType)) throw new ApiError(415, 'UnsupportedMediaType', 'unsupported patch type for scale');
    const patch = JSON.parse(body || '{}');
    const replicas = patch?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    const updated = structuredClone(stored.object);
    updated.spec = { ...updated.spec, replicas };
    const written = this.write(type, namespace, name, updated, 'scale', dryRun, new Map([['spec.replicas', replicas]]));
    return { status: 200, json: toScale(written) };
  }

  private evict(namespace: string, name: string, dryRun: boolean): { status: number; json: unknown } {
    const type = this.type('', 'v1', 'pods');
    const stored = this.mustGet(type, namespace, name);
    if (stored.object.metadata?.labels?.['cortex.dev/pdb'] === 'block') {
      throw new ApiError(429, 'TooManyRequests', 'Cannot evict pod as it would violate the pod\'s disruption budget.');
    }
    if (!dryRun) this.objects.delete(key('', 'pods', namespace, name));
    return { status: 201, json: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  }

  // --- behaviour ---------------------------------------------------------------------------------

  /** Brings an object's status up to date with the time since its last spec change. */
  private animate(stored: Stored): void {
    const object = stored.object;
    const elapsed = Date.now() - stored.changedAt;
    if (stored.type.kind === 'Deployment') this.animateDeployment(stored, elapsed);
    else if (stored.type.kind === 'HelmRelease') {
      const done = elapsed >= this.helmMs;
      const chart = object.spec?.chart?.spec?.chart ?? '';
      const failed = chart === 'fail';
      object.status = {
        observedGeneration: done ? object.metadata.generation : (object.status?.observedGeneration ?? -1),
        conditions: [
          done
            ? failed
              ? { type: 'Ready', status: 'False', reason: 'InstallFailed', message: `Helm install failed for release ${object.metadata.namespace}/${object.metadata.name} with chart ${chart}: chart not found` }
              : { type: 'Ready', status: 'True', reason: 'InstallSucceeded', message: `Helm install succeeded for release ${object.metadata.namespace}/${object.spec?.releaseName ?? object.metadata.name}.v1 with chart ${chart}@${object.spec?.chart?.spec?.version ?? '0.1.0'}` }
            : { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress' },
        ],
      };
    } else if (stored.type.kind === 'HelmChart') {
      const job = `helm-install-${object.metadata.name}`;
      object.status = { jobName: job };
      const jobs = this.type('batch', 'v1', 'jobs');
      const jobKey = key('batch', 'jobs', object.metadata.namespace, job);
      const done = elapsed >= this.helmMs;
      const failed = object.spec?.chart === 'fail';
      const status = done ? (failed ? { failed: 1, conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } : { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }) : { active: 1 };
      const existing = this.objects.get(jobKey);
      if (existing) existing.object.status = status;
      else {
        this.objects.set(jobKey, {
          type: jobs,
          owners: new Map(),
          changedAt: Date.now(),
          object: {
            apiVersion: 'batch/v1',
            kind: 'Job',
            metadata: { name: job, namespace: object.metadata.namespace, uid: randomUUID(), generation: 1, resourceVersion: String(++this.resourceVersion), ownerReferences: [{ apiVersion: 'helm.cattle.io/v1', kind: 'HelmChart', name: object.metadata.name }] },
            spec: { backoffLimit: 1000 },
            status,
          },
        });
      }
    }
  }

  private animateDeployment(stored: Stored, elapsed: number): void {
    const object = stored.object;
    const replicas = Number(object.spec?.replicas ?? 1);
    const images = (object.spec?.template?.spec?.containers ?? []).map((c: Obj) => String(c.image ?? ''));
    const broken = images.some((image: string) => image.includes('does-not-exist'));
    const fraction = broken ? 0 : Math.min(1, elapsed / Math.max(1, this.rolloutMs));
    const updated = Math.floor(replicas * fraction);
    const done = !broken && fraction >= 1;
    object.status = {
      observedGeneration: object.metadata.generation,
      replicas,
      updatedReplicas: done ? replicas : updated,
      readyReplicas: done ? replicas : updated,
      availableReplicas: done ? replicas : updated,
      ...(done ? {} : { unavailableReplicas: replicas - updated }),
      conditions: [
        { type: 'Available', status: done ? 'True' : 'False', reason: done ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable' },
        broken
          ? { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${object.metadata.name}-7d4b9c" is progressing: ImagePullBackOff` }
          : { type: 'Progressing', status: 'True', reason: done ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `ReplicaSet "${object.metadata.name}-7d4b9c" ${done ? 'has successfully progressed' : 'is progressing'}.` },
      ],
    };
    this.syncPods(object, done ? replicas : updated, broken);
  }

  /** Keeps `count` pods for a deployment, on schedulable nodes. */
  private syncPods(deployment: Obj, count: number, broken: boolean): void {
    const namespace = deployment.metadata.namespace;
    const owned = [...this.objects.entries()].filter(([, s]) => s.type.plural === 'pods' && s.object.metadata.namespace === namespace && s.object.metadata.ownerReferences?.[0]?.name === deployment.metadata.name && s.object.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet');
    const nodes = this.list('', 'nodes').filter((n) => !n.spec?.unschedulable).map((n) => n.metadata.name as string);
    const wanted = Math.max(count, broken ? Number(deployment.spec?.replicas ?? 1) : 0);
    for (const [k] of owned.slice(wanted)) this.objects.delete(k);
    const podType = this.type('', 'v1', 'pods');
    for (let i = owned.length; i < wanted; i++) {
      const podName = `${deployment.metadata.name}-7d4b9c-${randomBytes(3).toString('hex').slice(0, 5)}`;
      const nodeName = nodes.length ? nodes[i % nodes.length] : undefined;
      const object: Obj = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: podName, namespace, uid: randomUUID(), labels: { ...(deployment.spec?.template?.metadata?.labels ?? {}) }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: deployment.metadata.name, uid: deployment.metadata.uid }], resourceVersion: String(++this.resourceVersion) },
        spec: { ...(nodeName ? { nodeName } : {}), containers: deployment.spec?.template?.spec?.containers ?? [] },
        status: { phase: broken || !nodeName ? 'Pending' : 'Running', ...(broken ? { containerStatuses: [{ name: 'main', ready: false, state: { waiting: { reason: 'ImagePullBackOff' } } }] } : {}) },
      };
      this.objects.set(key('', 'pods', namespace, podName), { type: podType, object, owners: new Map(), changedAt: Date.now() });
    }
  }
}

function key(group: string, plural: string, namespace: string, name: string): string {
  return `${group}/${plural}/${namespace}/${name}`;
}

function notFound(type: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${type.plural}${type.group ? `.${type.group}` : ''} "${name}" not found`);
}

function parseJsonOrYaml(body: string): Obj {
  try {
    return JSON.parse(body);
  } catch {
    try {
      return parseYaml(body) as Obj;
    } catch (error) {
      throw new ApiError(400, 'BadRequest', `error decoding YAML: ${(error as Error).message}`);
    }
  }
}

function parseSelector(value: string | null): Array<[string, string]> {
  if (!value) return [];
  return value.split(',').map((part) => {
    const [k, v] = part.split(/==?/);
    return [k!.trim(), (v ?? '').trim()];
  });
}

function stripMeta(object: Obj): Obj {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = object;
  return rest;
}

function leafPaths(object: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (object && typeof object === 'object' && !Array.isArray(object)) {
    for (const [k, v] of Object.entries(object)) leafPaths(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, object);
  }
  return out;
}

function getPath(object: Obj, path: string): unknown {
  return path.split('.').reduce<any>((at, part) => at?.[part], object);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: any, patch: any): any {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out = target && typeof target === 'object' && !Array.isArray(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 8 * 1024 * 1024) throw new ApiError(413, 'RequestEntityTooLarge', 'request body too large');
  }
  return text;
}

function send(res: ServerResponse, status: number, json: unknown): void {
  const body = JSON.stringify(json);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
