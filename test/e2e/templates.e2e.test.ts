// The workflow templates (templates/n8n/*.json) inside real n8n 2.41: the package is built, packed
// and installed into a fresh user folder; credentials are created under the templates' placeholder
// NAMES (other ids), then `n8n import:workflow --separate --input=templates/n8n/` imports every
// template the way the README tells users to. Checked:
//
// - every template is imported and listed by `n8n list:workflow`; `n8n export:workflow --all` gives
//   the same nodes (types, versions, parameters) and connections back, each credential re-linked by
//   name to the credential created before (what a user gets by creating them before importing);
// - published and started, n8n activates every template: no unknown node type, no activation error,
//   the webhooks (workflow-trigger, cortex/<workflow_id>, security-alert, github-push,
//   prometheus-alert) registered, both workers' Handoff Triggers subscribed with the service;
// - answers from the triggers: the dispatcher's 404 for an unknown workflow_id, 403 without the
//   header, 400 with the missing parameters, a security alert that is not critical is ignored;
// - one run of deploy-monitoring-stack end to end against a real Cortex service and the Proxmox
//   simulator, started as the seed's curl does (POST /webhook/workflow-trigger, forwarded by the
//   dispatcher once its Settings name this n8n): 202 with the run_id, a second start 409; the infrastructure worker clones, sizes, grows and starts two
//   VMs (phase completed with their ids); the talos worker finds no machine configuration (none
//   written) and fails its handoff with machine_config_missing; the orchestrator fails the phase, the service writes the
//   rollback plan, its steps are handed to the talos worker (which cannot reset: no Talos here →
//   step failed) and the infrastructure worker (which deletes the cloned VMs → step done); the
//   orchestrator's execution ends with "Run … failed";
// - build-k8s-cluster through to a completed run against the Proxmox simulator, the Talos simulator
//   and its Kubernetes fake (fixed ports 50000 and 6443 on loopback addresses; the tests that need
//   the lab fail, saying why, when they are taken: never skipped, so CI cannot pass without them): VMs cloned, machine configs applied in maintenance mode from files, etcd
//   bootstrapped, health, kubeconfig and etcd snapshot written, Flux and metrics-server applied, the
//   API's /readyz checked;
// - dr-failover from an Alertmanager PrimarySiteDown alert (another alert is ignored) to a completed
//   run: the on-call approval, the primary VM stopped and the standby started (Proxmox simulator), the
//   lab's cluster as the DR site (the recovery from build-k8s-cluster's etcd snapshot finds etcd already
//   running: a warm standby; health, kubeconfig, a Deployment rolled out),
//   the public endpoint checked;
// - app-deployment-pipeline from a GitHub push (a forged signature 401, a ping ignored) to a completed
//   run: the commit's check runs polled until green (a stand-in GitHub API), two approvals, canary and
//   promotion as Flux HelmReleases on the Kubernetes fake with their rollouts and smoke tests, the
//   canary scaled down, the edge LB VM snapshotted on the Proxmox simulator, the 5xx ratio read from a
//   stand-in Prometheus;
// - a critical Falco alert starts security-incident-response: inline triage; security-master's
//   assessment (claimed and completed here through the service, as its tooling would) and the
//   Approval Gate (approved with the admin's decision API); with the Talos lab: namespace isolated,
//   node cordoned and drained, etcd evidence written, the VM snapshotted and moved to the quarantine
//   VLAN, eradication approved by two, a replacement cloned; its rejoin fails (unreachable), so the
//   replacement is rolled back and the containment is not. Without the lab the containment fails.
//
// - the etcd backup, run once with `n8n execute` (its Back Up Now trigger) after the server stopped:
//   the lab cluster's snapshot written as the dated and the latest file.
//
// Slow (build, pack, npm install, n8n start-up, a dozen CLI runs): `npm run test:e2e`.

import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, freePort, startTestService, tokenFor, type TestService } from '../service/harness.ts';
import { KubernetesFake } from '../simulators/kubernetes/server.ts';
import { ProxmoxSimulator, DEFAULT_TOKENS } from '../simulators/proxmox/server.ts';
import { createCa, issueCert } from '../simulators/talos/pki.ts';
import { TalosSimulator } from '../simulators/talos/simulator.ts';
import { buildAndPack, N8n, n8nHome, REPO, stepTimings } from './n8n.ts';

const TEMPLATES = join(REPO, 'templates', 'n8n');
/** The Talos lab: machines in maintenance mode on .11–.14 and the endpoint on .10, all on Talos's port 50000 (the templates give addresses without ports). */
const TALOS_IPS = ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'];
/** The new cluster's API address (control_plane_vip): a stand-in answering /readyz on 6443. */
const VIP = '127.0.0.20';
const DEFINITIONS = join(REPO, 'templates', 'definitions');
const WEBHOOK_HEADER = 'X-Cortex-Token';
const WEBHOOK_TOKEN = 'e2e-webhook-token-value';

interface TemplateFile {
  id: string;
  name: string;
  nodes: Array<{ name: string; type: string; typeVersion: number; parameters: Record<string, unknown>; credentials?: Record<string, { id: string; name: string }> }>;
  connections: Record<string, unknown>;
}

const templates: TemplateFile[] = readdirSync(TEMPLATES)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(TEMPLATES, f), 'utf8')) as TemplateFile);
const byName = (name: string) => templates.find((t) => t.name === name)!;

/** The first field of a template's Settings node (Edit Fields), to edit it as a user would. */
function settingsValue(template: TemplateFile): { value: string } {
  const settings = template.nodes.find((n) => n.name === 'Settings')!;
  return (settings.parameters.assignments as { assignments: Array<{ value: string }> }).assignments[0]!;
}

const { timings, timed } = stepTimings();

describe('the workflow templates inside real n8n', { timeout: 900_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cortex-e2e-templates-'));
  let service: TestService | undefined;
  let proxmox: ProxmoxSimulator | undefined;
  let kube: KubernetesFake | undefined;
  let talos: TalosSimulator | undefined;
  /** Why the Talos lab (fixed ports 50000 and 6443 on loopback addresses) could not start, if it could not. */
  let noTalosLab: string | undefined;
  const servers: HttpServer[] = [];
  let fluxInstallUrl = '';
  /** Stand-ins the app pipeline talks to: GitHub's check-runs API, the app's endpoints, Prometheus. */
  let stubs = '';
  let checkRunCalls = 0;
  let n8n: N8n | undefined;
  /** Credential id by placeholder name (ids differ from the templates' placeholder ids on purpose). */
  const credentialIds = new Map<string, string>();
  let exported: TemplateFile[] = [];
  let listed = '';
  const killOnExit = () => n8n?.kill();

  before(async () => {
    process.once('exit', killOnExit);
    const home = await timed('install n8n (cached)', () => n8nHome());
    const tarball = await timed('build + npm pack', () => buildAndPack(work));
    service = await startTestService({
      CORTEX_HOST: '127.0.0.1',
      CORTEX_DELIVERY_TIMEOUT_MS: '20000',
      CORTEX_APPROVER_GROUPS: 'security-leads=sam;incident-commander=ivan;platform-leads=pat;sre-oncall=olivia;release-managers=rita;app-owners=alex',
    });
    for (const file of readdirSync(DEFINITIONS).filter((f) => f.endsWith('.json') && !f.includes('schema'))) {
      const reply = await service.call('POST', '/v1/definitions', { body: JSON.parse(readFileSync(join(DEFINITIONS, file), 'utf8')) });
      assert.ok(reply.status === 201 || reply.status === 200, `${file}: ${reply.status} ${reply.text}`);
    }
    proxmox = await ProxmoxSimulator.start({ timeScale: 0.02, lockWaitMs: 400, cloneSourceLockMs: 20 });
    await startTalosLab();
    const port = await freePort();
    const files = join(work, 'n8n-user', '.n8n-files');
    for (const dir of ['backups', 'evidence']) mkdirSync(join(files, dir), { recursive: true });
    n8n = new N8n({
      home,
      userFolder: join(work, 'n8n-user'),
      port,
      brokerPort: await freePort(),
      env: { N8N_RESTRICT_FILE_ACCESS_TO: files, ...(noTalosLab ? {} : { NODE_EXTRA_CA_CERTS: join(work, 'vip-ca.pem') }) },
    });
    await timed('npm install <tgz> --omit=peer', () => n8n!.installPackage(tarball));

    const cortex = (who: 'n8n-contractor' | 'infrastructure-contractor' | 'talos-contractor') => ({ url: service!.url, token: tokenFor(who) });
    const token = DEFAULT_TOKENS[0]!;
    const pve = { baseUrl: proxmox.url, authMethod: 'apiToken', tokenId: token.tokenid, tokenSecret: token.secret, ca: proxmox.caPem };
    // Without the Talos lab: an empty talosconfig fails every Talos call at once.
    const noTalos = { source: 'talosconfig', talosconfig: '' };
    const talosCluster = talos ? { source: 'talosconfig', talosconfig: talos.talosconfig(), context: '' } : noTalos;
    const credentials: Array<{ name: string; type: string; data: Record<string, unknown> }> = [
      { name: 'Cortex (n8n-contractor)', type: 'cortexApi', data: cortex('n8n-contractor') },
      { name: 'Cortex (infrastructure-contractor)', type: 'cortexApi', data: cortex('infrastructure-contractor') },
      { name: 'Cortex (talos-contractor)', type: 'cortexApi', data: cortex('talos-contractor') },
      { name: 'Proxmox VE', type: 'proxmoxApi', data: pve },
      { name: 'Proxmox VE (primary site)', type: 'proxmoxApi', data: pve },
      { name: 'Proxmox VE (DR site)', type: 'proxmoxApi', data: pve },
      { name: 'Talos cluster', type: 'talosApi', data: talosCluster },
      { name: 'Talos cluster (DR site)', type: 'talosApi', data: talosCluster },
      { name: 'Talos maintenance mode', type: 'talosApi', data: { source: 'manual', endpoints: '127.0.0.10', maintenance: true } },
      { name: 'Cortex webhook token', type: 'httpHeaderAuth', data: { name: WEBHOOK_HEADER, value: WEBHOOK_TOKEN } },
      { name: 'GitHub webhook secret', type: 'crypto', data: { hmacSecret: 'e2e-github-webhook-secret' } },
      { name: 'GitHub API', type: 'githubApi', data: { server: 'https://api.github.com', user: 'e2e', accessToken: 'e2e-not-a-token' } },
    ];
    credentials.forEach((c, i) => credentialIds.set(c.name, `e2eTemplateCred${String(i).padStart(2, '0')}`));
    await timed('import:credentials', () => n8n!.importCredentials(credentials.map((c) => ({ ...c, id: credentialIds.get(c.name)! }))));

    // As the README says: every template of the folder at once.
    const imported = await timed('import:workflow --separate', () => n8n!.cli('import:workflow', '--separate', `--input=${TEMPLATES}`));
    assert.match(imported, new RegExp(`Successfully imported ${templates.length} workflows?`), imported);
    listed = await timed('list:workflow', () => n8n!.cli('list:workflow'));
    const exportFile = join(work, 'exported.json');
    await timed('export:workflow --all', () => n8n!.cli('export:workflow', '--all', `--output=${exportFile}`));
    exported = JSON.parse(readFileSync(exportFile, 'utf8')) as TemplateFile[];

    // What a user does next: set the dispatcher's Settings → n8n_webhook_base to this n8n (re-import of the edited workflow).
    const dispatcher = structuredClone(byName('Cortex: workflow trigger'));
    settingsValue(dispatcher).value = `${n8n.baseUrl}/webhook/`;
    // … and fill the incident workflow's Settings (its Falco alerts carry no cluster settings).
    const incident = structuredClone(byName('Cortex: Security Incident Response'));
    const defaults = settingsValue(incident);
    defaults.value = JSON.stringify({
      ...(JSON.parse(defaults.value) as Record<string, unknown>),
      cluster_name: 'e2e-prod',
      proxmox_node: 'pve1',
      storage: 'ceph',
      talos_template_vmid: 9000,
      // The Talos lab's cluster (bootstrapped by the build-k8s-cluster test); nothing listens on .30.
      healthy_control_plane_ip: TALOS_IPS[0],
      control_plane_vip: VIP,
      replacement_ips: ['127.0.0.30'],
      gateway: '127.0.0.1',
      nameserver: '127.0.0.1',
      talos_config_dir: join(work, 'n8n-user', '.n8n-files', 'talos', 'e2e-prod'),
      evidence_dir: join(work, 'n8n-user', '.n8n-files', 'evidence'),
      backup_dir: join(work, 'n8n-user', '.n8n-files', 'backups'),
    });
    // … and dr-failover's (an Alertmanager alert carries no site settings): the lab's cluster stands in for the DR site.
    const dr = structuredClone(byName('Cortex: Disaster Recovery Failover'));
    const drDefaults = settingsValue(dr);
    drDefaults.value = JSON.stringify({
      ...(JSON.parse(drDefaults.value) as Record<string, unknown>),
      environment: 'e2e-dr',
      cluster_name: 'e2e-prod',
      primary_site: 'site-a',
      dr_site: 'site-b',
      public_hostname: `${VIP}:6443`,
      primary_proxmox_node: 'pve1',
      primary_vmids: [100],
      dr_proxmox_node: proxmox.cluster.guests.get(101)!.node,
      dr_vmids: [101],
      dr_control_plane_ips: TALOS_IPS.slice(0, 3),
      dr_worker_ips: TALOS_IPS.slice(3),
      dr_bootstrap_node_ip: TALOS_IPS[0],
      dr_control_plane_vip: VIP,
      dr_ingress_ip: '127.0.0.40',
      critical_workloads: [{ namespace: 'shop', kind: 'Deployment', name: 'web' }],
      talos_config_dir: join(files, 'talos', 'e2e-prod'),
      backup_dir: join(files, 'backups'),
    });
    // … and the app pipeline's (a push carries the repository and commit only).
    const app = structuredClone(byName('Cortex: Application Deployment Pipeline'));
    const appDefaults = settingsValue(app);
    appDefaults.value = JSON.stringify({
      ...(JSON.parse(appDefaults.value) as Record<string, unknown>),
      environment: 'e2e',
      github_api_url: `${stubs}/github`,
      ci_poll_seconds: 1,
      observe_seconds: 1,
      image_repository: 'registry.example/acme/web',
      namespace: 'shop',
      chart: 'web',
      chart_repository: 'https://charts.example/acme',
      canary_url: `${stubs}/app`,
      public_url: `${stubs}/app`,
      prometheus_url: `${stubs}/prometheus`,
      proxmox_node: 'pve1',
      edge_lb_vmid: 100,
      service_node_ports: [30080],
      previous_image_tag: 'v1.0.0',
    });
    await timed('import:workflow (edited settings of the dispatcher, incident, DR, app pipeline)', () => n8n!.importWorkflows([dispatcher, incident, dr, app]));

    await timed(`publish:workflow ×${templates.length}`, async () => {
      for (const template of templates) await n8n!.publish(template.id);
    });
    await timed('n8n start → readiness', () => n8n!.start());
    await timed('readiness → workflows active', async () => {
      const withWebhooks = templates.filter((t) => t.nodes.some((n) => n.type === 'n8n-nodes-base.webhook' || n.type === 'n8n-nodes-cortex.handoffTrigger'));
      await n8n!.waitForActivation(withWebhooks.map((t) => t.id), 90_000);
      await eventually(async () => (await workerSubscriptions()).length >= 2, 30_000, 100);
    });
  });

  after(async () => {
    try {
      await n8n?.stop();
      await proxmox?.close();
      await talos?.stop();
      await kube?.stop();
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await service?.stop();
    } finally {
      process.removeListener('exit', killOnExit);
      rmSync(work, { recursive: true, force: true });
      console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
    }
  });

  /** Talos simulator with its Kubernetes fake, the VIP's /readyz and a Flux install.yaml stand-in; on fixed ports, so it may be unavailable. */
  async function startTalosLab(): Promise<void> {
    try {
      kube = new KubernetesFake({ nodes: TALOS_IPS.map((ip) => `talos-${ip.split('.').join('-')}`), rolloutMs: 200, helmMs: 300 });
      await kube.start();
      talos = new TalosSimulator({ port: 50000, machineIps: TALOS_IPS, kubernetes: kube.access, timing: { downMs: 300, bootMs: 200, stopMs: 50 } });
      await talos.start();
      const ca = createCa('e2e-vip', 'ec');
      const cert = issueCert(ca, { commonName: 'kube-apiserver', ips: [VIP], usage: 'server' });
      // n8n trusts the stand-in's CA (NODE_EXTRA_CA_CERTS), as it would a public certificate.
      writeFileSync(join(work, 'vip-ca.pem'), ca.cert);
      const vip = createHttpsServer({ cert: cert.cert, key: cert.key }, (req, res) => {
        const ok = req.url === '/readyz' || req.url === '/healthz';
        res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
        res.end(ok ? 'ok' : 'not found');
      });
      await new Promise<void>((resolve, reject) => vip.once('error', reject).listen(6443, VIP, () => resolve()));
      servers.push(vip);
      const flux = createHttpServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/yaml' });
        res.end('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: cortex-e2e-flux\n');
      });
      await new Promise<void>((resolve) => flux.listen(0, '127.0.0.1', () => resolve()));
      servers.push(flux);
      fluxInstallUrl = `http://127.0.0.1:${(flux.address() as AddressInfo).port}/install.yaml`;
      const stub = createHttpServer((req, res) => {
        const json = (body: unknown) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.url?.startsWith('/github/repos/acme/web/commits/')) {
          // The first poll finds the build still running; the next ones every check green.
          checkRunCalls++;
          const done = checkRunCalls > 1;
          return json({
            total_count: 3,
            check_runs: ['build', 'unit-tests', 'integration-tests'].map((name) => ({ name, status: done || name !== 'build' ? 'completed' : 'in_progress', conclusion: done || name !== 'build' ? 'success' : null })),
          });
        }
        if (req.url?.startsWith('/prometheus/api/v1/query')) return json({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1_700_000_000, '0.002'] }] } });
        if (req.url === '/app/healthz' || req.url === '/app/readyz') return json({ ok: true });
        res.writeHead(404);
        res.end();
      });
      await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', () => resolve()));
      servers.push(stub);
      stubs = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
    } catch (error) {
      noTalosLab = `the Talos lab did not start (ports 50000 on 127.0.0.10–14, 6443 on ${VIP}): ${(error as Error).message}`;
      await talos?.stop().catch(() => {});
      await kube?.stop().catch(() => {});
      talos = undefined;
      kube = undefined;
    }
  }

  /** Server-side apply of one object to the Kubernetes fake, as kubectl would (the fake's client certificate). */
  async function kubeApply(path: string, manifest: string): Promise<void> {
    const access = kube!.access;
    const url = new URL(`${access.server}${path}?fieldManager=e2e&force=true`);
    await new Promise<void>((resolve, reject) => {
      const request = httpsRequest(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'PATCH', ca: access.ca, cert: access.cert, key: access.key, headers: { 'content-type': 'application/apply-patch+yaml' } },
        (response) => {
          response.resume();
          response.on('end', () => (response.statusCode && response.statusCode < 300 ? resolve() : reject(new Error(`${path}: ${response.statusCode}`))));
        },
      );
      request.on('error', reject);
      request.end(manifest);
    });
  }

  async function workerSubscriptions(): Promise<Array<{ url: string; filter: Record<string, unknown>; events: string[] }>> {
    const out = [];
    for (const who of ['infrastructure-contractor', 'talos-contractor'] as const) {
      const reply = await service!.call('GET', '/v1/subscriptions', { as: who });
      out.push(...(reply.body.items as Array<{ url: string; filter: Record<string, unknown>; events: string[] }>).filter((s) => s.url.startsWith(`${n8n!.baseUrl}/webhook/`)));
    }
    return out;
  }

  /** The Talos lab, for a test that needs it; when it could not start, the test fails saying why (a skip would let CI pass without it). */
  function talosLab(): { talos: TalosSimulator; kube: KubernetesFake } {
    if (!talos || !kube) assert.fail(`${noTalosLab ?? 'the Talos lab is not running'}; free those addresses and ports to run this test`);
    return { talos, kube };
  }

  /** The run as the service has it now. */
  const runNow = async (runId: string) => (await service!.call('GET', `/v1/runs/${runId}`, { as: 'n8n-contractor' })).body;

  /** The run once it no longer runs. */
  const runEnded = (runId: string, timeoutMs: number) =>
    eventually(async () => {
      const current = await runNow(runId);
      return current.status !== 'running' ? current : undefined;
    }, timeoutMs, 500);

  /** An Approval Gate's approval, once the gate has created it. */
  const approvalCreated = (approvalId: string) =>
    eventually(async () => {
      const got = await service!.call('GET', `/v1/approvals/${approvalId}`);
      return got.status === 200 ? got.body : undefined;
    }, 60_000, 200);

  /** A run's test failure, with what happened appended: the run, and every execution with its last node and error. */
  async function explained(error: unknown, runId: string): Promise<Error> {
    const current = await runNow(runId);
    const lines = [`run: ${JSON.stringify({ status: current.status, error: current.error, phases: current.phases?.map((p: any) => [p.phase_id, p.status, p.error]), rollback: current.rollback })}`];
    for (const execution of n8n!.executions()) {
      const name = templates.find((t) => t.id === execution.workflowId)?.name ?? execution.workflowId;
      let detail = '';
      try {
        const data = n8n!.runData(execution.id).resultData;
        const errors = Object.entries(data.runData).flatMap(([node, runs]) =>
          runs.flatMap((r) => (r.data?.main ?? []).flatMap((items) => (items ?? []).filter((i) => i.json.error !== undefined).slice(0, 1).map((i) => `${node}: ${JSON.stringify(i.json.error)}`))),
        );
        detail = `last ${data.lastNodeExecuted ?? '-'}${data.error ? `: ${data.error.message}` : ''}; ran ${Object.keys(data.runData).join(' > ')}${errors.length ? `; error items: ${errors.join(' | ')}` : ''}`;
      } catch (error) {
        detail = (error as Error).message;
      }
      lines.push(`execution ${execution.id} ${name} ${execution.status}: ${detail}`);
    }
    return new Error(`${(error as Error).message}\n${lines.join('\n')}`, { cause: error });
  }

  const post = (path: string, body: unknown, headers: Record<string, string> = { [WEBHOOK_HEADER]: WEBHOOK_TOKEN }) => n8n!.callWebhook(path, body, headers);

  it('imports every template and lists it', () => {
    assert.equal(templates.length, 9);
    for (const template of templates) assert.ok(listed.includes(`${template.id}|${template.name}`), `${template.id}|${template.name} not in:\n${listed}`);
  });

  it('exports them back unchanged, each credential re-linked by name to the one created before import', () => {
    for (const template of templates) {
      const back = exported.find((w) => w.id === template.id);
      assert.ok(back, template.name);
      assert.equal(back.name, template.name);
      assert.deepEqual(back.connections, template.connections, `${template.name}: connections`);
      assert.equal(back.nodes.length, template.nodes.length);
      for (const node of template.nodes) {
        const other: TemplateFile['nodes'][number] | undefined = back.nodes.find((n) => n.name === node.name);
        assert.ok(other, `${template.name}: ${node.name}`);
        assert.equal(other.type, node.type);
        assert.equal(other.typeVersion, node.typeVersion);
        assert.deepEqual(other.parameters, node.parameters, `${template.name}: ${node.name} parameters`);
        for (const [type, ref] of Object.entries(node.credentials ?? {})) {
          assert.deepEqual(other.credentials?.[type], { id: credentialIds.get(ref.name), name: ref.name }, `${template.name}: ${node.name} ${type}`);
        }
      }
    }
  });

  it('activates every template: no unknown node type, no activation error, webhooks and Handoff Triggers registered', async () => {
    const log = n8n!.log();
    for (const problem of [/Unrecognized node type/i, /unknown node type/i, /could not be activated/i, /problem activating/i, /Issue on initial workflow activation/i]) {
      assert.doesNotMatch(log, problem, log.split('\n').filter((l) => problem.test(l)).join('\n'));
    }
    const webhooks = n8n!.webhooks();
    const paths = new Set(webhooks.map((w) => `${w.method} ${w.path}`));
    for (const path of [
      'workflow-trigger', 'security-alert', 'github-push', 'prometheus-alert',
      'cortex/deploy-monitoring-stack', 'cortex/build-k8s-cluster', 'cortex/dr-failover', 'cortex/app-deployment-pipeline', 'cortex/security-incident-response',
    ]) {
      assert.ok(paths.has(`POST ${path}`), `POST ${path} not among ${[...paths].join(', ')}`);
    }
    const subscriptions = await workerSubscriptions();
    assert.deepEqual(subscriptions.map((s) => s.filter.to_contractor).sort(), ['infrastructure-contractor', 'talos-contractor']);
    // The schedule trigger has no webhook: the workflow is published (active version set) and n8n kept it so.
    const backup = byName('Cortex: etcd backup (backup-etcd-snapshot)');
    const listedActive = await n8n!.cli('list:workflow', '--active=true');
    assert.ok(listedActive.includes(backup.id), listedActive);
  });

  it('the triggers answer: unknown workflow 404, no token 403, missing parameters 400, a non-critical alert ignored', async () => {
    const unknown = await post('workflow-trigger', { workflow_id: 'no-such-workflow', parameters: {} });
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, 'unknown_workflow');

    const noToken = await post('workflow-trigger', { workflow_id: 'deploy-monitoring-stack' }, {});
    assert.equal(noToken.status, 403);

    const missing = await post('cortex/deploy-monitoring-stack', { parameters: { cluster_name: 'e2e' } });
    assert.equal(missing.status, 400);
    const body = (await missing.json()) as { error: { code: string; missing: string[] } };
    assert.equal(body.error.code, 'missing_parameters');
    assert.ok(body.error.missing.includes('monitoring_node_ips') && !body.error.missing.includes('cluster_name'), JSON.stringify(body));

    const notCritical = await post('security-alert', { rule: 'Read sensitive file untrusted', priority: 'Warning', output: 'e2e' });
    assert.equal(notCritical.status, 200);
    assert.equal(((await notCritical.json()) as { ignored: boolean }).ignored, true);
  });

  it('deploy-monitoring-stack: 202, VMs cloned and started, the Talos phase fails, the run rolls back through both workers', async () => {
    const cluster = `e2e${Date.now().toString(36).slice(-5)}`;
    const parameters = {
      environment: 'e2e',
      cluster_name: cluster,
      proxmox_node: 'pve1',
      storage: 'ceph',
      talos_template_vmid: 9000,
      // Nothing listens on these: the Talos rollback's resets are refused at once.
      monitoring_node_ips: ['127.0.0.21', '127.0.0.22'],
      gateway: '127.0.0.1',
      nameserver: '127.0.0.1',
      talos_config_dir: join(work, 'n8n-user', '.n8n-files', 'talos', cluster),
      n8n_alert_webhook_url: `${n8n!.baseUrl}/webhook/prometheus-alert`,
    };
    const started = performance.now();
    // The seed's manual trigger: POST /webhook/workflow-trigger {workflow_id, parameters}, forwarded by the dispatcher.
    const reply = await post('workflow-trigger', { workflow_id: 'deploy-monitoring-stack', parameters });
    const accepted = (await reply.json()) as { run_id: string; workflow_id: string; concurrency_key: string };
    assert.equal(reply.status, 202, JSON.stringify(accepted));
    assert.equal(accepted.workflow_id, 'deploy-monitoring-stack');
    assert.equal(accepted.concurrency_key, `monitoring:${cluster}`);

    // A second start for the same cluster while the first runs: 409 (the concurrency key).
    const again = await post('cortex/deploy-monitoring-stack', { parameters });
    assert.equal(again.status, 409);

    const run = await eventually(
      async () => {
        const current = await runNow(accepted.run_id);
        return current.status === 'failed' && current.rollback && current.rollback.steps.every((s: { status: string }) => s.status !== 'pending') ? current : undefined;
      },
      240_000,
      500,
    ).catch(async (error: unknown) => {
      throw await explained(error, accepted.run_id);
    });
    timings['run → rolled back'] = Math.round(performance.now() - started);
    try {
      await checkRun(run, accepted.run_id, cluster, parameters.monitoring_node_ips);
    } catch (error) {
      throw await explained(error, accepted.run_id);
    }
  });

  it('build-k8s-cluster: VMs cloned, Talos configured in maintenance mode, etcd bootstrapped, healthy, kubeconfig, Flux, metrics-server and a first snapshot; the API answers; the run completes', async () => {
    const { talos, kube } = talosLab();
    const cluster = `k8s${Date.now().toString(36).slice(-5)}`;
    const files = join(work, 'n8n-user', '.n8n-files');
    const configDir = join(files, 'talos', cluster);
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, 'controlplane.yaml'), talos.machineConfig('controlplane'));
    writeFileSync(join(configDir, 'worker.yaml'), talos.machineConfig('worker'));
    const parameters = {
      environment: 'e2e',
      cluster_name: cluster,
      proxmox_node: 'pve1',
      storage: 'ceph',
      talos_template_vmid: 9000,
      control_plane_ips: TALOS_IPS.slice(0, 3),
      worker_ips: TALOS_IPS.slice(3),
      control_plane_vip: VIP,
      gateway: '127.0.0.1',
      nameserver: '127.0.0.1',
      talos_config_dir: configDir,
      backup_dir: join(files, 'backups'),
      flux_version: '2.4.0',
      flux_install_url: fluxInstallUrl,
    };
    const started = performance.now();
    const reply = await post('workflow-trigger', { workflow_id: 'build-k8s-cluster', parameters });
    const accepted = (await reply.json()) as { run_id: string };
    assert.equal(reply.status, 202, JSON.stringify(accepted));
    try {
      const run = await runEnded(accepted.run_id, 240_000);
      timings['build-k8s-cluster run'] = Math.round(performance.now() - started);
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
      const output = (id: string) => run.phases.find((p: { phase_id: string }) => p.phase_id === id).output;
      assert.deepEqual(run.phases.map((p: { status: string }) => p.status), ['completed', 'completed', 'completed']);
      assert.equal(output('provision-vms').control_plane_vm_ids.length, 3);
      assert.equal(output('provision-vms').worker_vm_ids.length, 1);
      const built = output('bootstrap-cluster');
      assert.equal(built.cluster_endpoint, `https://${VIP}:6443`);
      assert.deepEqual(built.control_plane_ips, TALOS_IPS.slice(0, 3));
      assert.match(readFileSync(built.kubeconfig_secret, 'utf8'), /clusters:/);
      assert.ok(built.initial_snapshot && existsSync(built.initial_snapshot) && statSync(built.initial_snapshot).size > 32, `the initial etcd snapshot was written: ${JSON.stringify(built)}`);
      assert.deepEqual(output('register-cluster'), { cluster_endpoint: `https://${VIP}:6443`, api_ready: true });
      // Proxmox: four running VMs named for the cluster; Talos: configured by role and bootstrapped; Kubernetes: Flux's manifest and metrics-server's HelmRelease.
      const vms = [...proxmox!.cluster.guests.values()].filter((g) => String(g.config.name ?? '').startsWith(`${cluster}-`));
      assert.deepEqual(vms.map((g) => g.config.name).sort(), [`${cluster}-cp-1`, `${cluster}-cp-2`, `${cluster}-cp-3`, `${cluster}-worker-1`]);
      assert.ok(vms.every((g) => g.status === 'running'));
      assert.deepEqual(talos.machines.map((m) => m.role), ['controlplane', 'controlplane', 'controlplane', 'worker']);
      assert.equal(talos.bootstrapped, true);
      assert.ok(kube.requests.some((r) => r.method === 'PATCH' && r.path.includes('/namespaces/cortex-e2e-flux')), 'the Flux manifest was applied');
      assert.ok(kube.requests.some((r) => r.method === 'PATCH' && r.path.includes('/helmreleases/metrics-server')), 'metrics-server was deployed through Flux');
      const orchestrator = byName('Cortex: Build New K8s Cluster');
      const execution = await n8n!.waitFor('the build orchestrator finished', () => n8n!.executions(orchestrator.id).find((e) => e.status === 'success'), 60_000);
      assert.ok(n8n!.runData(execution.id).resultData.runData['Run Completed']);
    } catch (error) {
      throw await explained(error, accepted.run_id);
    }
  });

  it('dr-failover: an Alertmanager PrimarySiteDown alert, on-call approves, primary VMs fenced, standby started, the DR cluster and its critical workload ready, the public endpoint answers; the run completes', async () => {
    const { talos } = talosLab();
    mkdirSync(join(work, 'n8n-user', '.n8n-files', 'talos', 'e2e-prod'), { recursive: true });
    // The replicated backup the DR site recovers from: build-k8s-cluster's snapshot as e2e-prod's latest.
    // The lab's etcd already runs, so the worker takes the site as a warm standby and uploads nothing.
    const backups = join(work, 'n8n-user', '.n8n-files', 'backups');
    const initial = readdirSync(backups).find((f) => f.endsWith('-etcd-initial.snapshot'));
    assert.ok(initial, 'build-k8s-cluster wrote its initial snapshot');
    copyFileSync(join(backups, initial), join(backups, 'e2e-prod-latest.snapshot'));
    const etcdLooks = () => talos.calls.filter((c) => c.method === 'ServiceList' && c.node === TALOS_IPS[0]).length;
    const etcdLooksBefore = etcdLooks();
    await kubeApply('/api/v1/namespaces/shop', 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n');
    await kubeApply(
      '/apis/apps/v1/namespaces/shop/deployments/web',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n',
    );
    const ignored = await post('prometheus-alert', { version: '4', status: 'firing', alerts: [{ status: 'firing', labels: { alertname: 'HighMemoryUsage' } }] });
    assert.equal(ignored.status, 200);
    assert.equal(((await ignored.json()) as { ignored: boolean }).ignored, true);
    const alert = {
      version: '4',
      status: 'firing',
      receiver: 'n8n',
      groupLabels: { alertname: 'PrimarySiteDown' },
      commonLabels: { alertname: 'PrimarySiteDown', severity: 'critical' },
      alerts: [{ status: 'firing', labels: { alertname: 'PrimarySiteDown', site: 'site-a' }, annotations: { summary: 'site-a unreachable for 5m' }, startsAt: new Date().toISOString(), fingerprint: 'e2e0001' }],
    };
    const reply = await post('prometheus-alert', alert);
    const accepted = (await reply.json()) as { run_id: string; concurrency_key: string };
    assert.equal(reply.status, 202, JSON.stringify(accepted));
    assert.equal(accepted.concurrency_key, 'dr-failover:e2e-dr');
    try {
      const approvalId = `${accepted.run_id}-approve-failover`;
      const approval = await approvalCreated(approvalId);
      assert.equal(approval.title, 'Fail e2e-dr over to site-b');
      assert.match(approval.description, /Prometheus alert PrimarySiteDown: site-a unreachable for 5m/);
      assert.match(approval.description, /HTTP 200/);
      const decided = await service!.call('POST', `/v1/approvals/${approvalId}/decisions`, { body: { approver: 'olivia', decision: 'approve' } });
      assert.equal(decided.status, 200, decided.text);
      const run = await runEnded(accepted.run_id, 180_000);
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
      const output = (id: string) => run.phases.find((p: { phase_id: string }) => p.phase_id === id).output;
      assert.deepEqual(output('declare-failover'), { primary_site_status: 'HTTP 200', approved_by: ['olivia'] });
      assert.equal(output('activate-dr-infrastructure').primary_fenced, true);
      assert.deepEqual(output('activate-dr-infrastructure').fenced_vm_ids, [100]);
      assert.equal(proxmox!.cluster.guests.get(100)!.status, 'stopped');
      assert.equal(proxmox!.cluster.guests.get(101)!.status, 'running');
      // The snapshot was read and a recovery tried; the DR node's etcd already ran, so nothing was uploaded.
      assert.ok(etcdLooks() > etcdLooksBefore, 'the recovery looked at the DR node\'s etcd');
      assert.ok(!talos.calls.some((c) => c.method === 'EtcdRecover'), 'no snapshot is uploaded over a running etcd');
      assert.deepEqual(output('restore-cluster'), {
        dr_cluster_endpoint: `https://${VIP}:6443`,
        dr_ingress_ip: '127.0.0.40',
        kubeconfig_secret: join(work, 'n8n-user', '.n8n-files', 'talos', 'e2e-prod', 'kubeconfig-dr'),
        workloads_ready: 1,
      });
      assert.deepEqual(output('switch-traffic'), { public_hostname: `${VIP}:6443`, dr_ingress_ip: '127.0.0.40' });
    } catch (error) {
      throw await explained(error, accepted.run_id);
    }
  });

  it('app-deployment-pipeline: a signed GitHub push to main, CI polled until green, two approvals, canary and promotion through Flux, the edge LB snapshotted, the 5xx ratio watched; the run completes', async () => {
    const { kube } = talosLab();
    for (const name of ['web-canary', 'web']) {
      await kubeApply(
        `/apis/apps/v1/namespaces/shop/deployments/${name}`,
        `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: ${name}\n  template:\n    metadata:\n      labels:\n        app: ${name}\n    spec:\n      containers:\n        - name: web\n          image: registry.example/acme/web:v1.0.0\n`,
      );
    }
    const sha = createHash('sha1').update(`e2e-${Date.now()}`).digest('hex');
    const push = JSON.stringify({ ref: 'refs/heads/main', after: sha, deleted: false, repository: { full_name: 'acme/web', name: 'web' }, pusher: { name: 'dev' } });
    const send = (signature: string, event = 'push') =>
      fetch(`${n8n!.baseUrl}/webhook/github-push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': event, 'x-hub-signature-256': signature },
        body: push,
        signal: AbortSignal.timeout(30_000),
      });
    const forged = await send(`sha256=${'0'.repeat(64)}`);
    assert.equal(forged.status, 401);
    const signature = `sha256=${createHmac('sha256', 'e2e-github-webhook-secret').update(push).digest('hex')}`;
    const ping = await send(signature, 'ping');
    assert.equal(ping.status, 200);
    assert.equal(((await ping.json()) as { ignored: boolean }).ignored, true);
    const reply = await send(signature);
    const accepted = (await reply.json()) as { run_id: string; concurrency_key: string };
    assert.equal(reply.status, 202, JSON.stringify(accepted));
    assert.equal(accepted.concurrency_key, 'deploy:web:e2e');
    try {
      const approvalId = `${accepted.run_id}-approve-release`;
      const approval = await approvalCreated(approvalId);
      assert.equal(approval.required_approvals, 2);
      assert.equal(approval.title, `Deploy web ${sha.slice(0, 12)} to e2e`);
      assert.ok(checkRunCalls >= 2, 'CI was polled until green');
      for (const approver of ['rita', 'alex']) {
        const decided = await service!.call('POST', `/v1/approvals/${approvalId}/decisions`, { body: { approver, decision: 'approve' } });
        assert.equal(decided.status, 200, decided.text);
      }
      const run = await runEnded(accepted.run_id, 180_000);
      assert.equal(run.status, 'completed', JSON.stringify(run.error));
      const output = (id: string) => run.phases.find((p: { phase_id: string }) => p.phase_id === id).output;
      const approved = output('build-and-approve');
      assert.deepEqual({ ...approved, approved_by: [...approved.approved_by].sort() }, {
        image: `registry.example/acme/web:${sha}`,
        image_tag: sha,
        image_digest: null,
        approved_by: ['alex', 'rita'],
      });
      assert.deepEqual(output('deploy-canary'), { service_node_ports: [30080], previous_revision: 'v1.0.0', new_revision: sha });
      const snapshot = output('shift-traffic').lb_snapshot as string;
      assert.match(snapshot, /^predeploy_\d{8}_\d{6}$/);
      assert.ok(proxmox!.cluster.guests.get(100)!.snapshots.some((snap) => snap.name === snapshot));
      assert.deepEqual(output('verify-release'), { public_url: `${stubs}/app`, error_rate: 0.002 });
      for (const release of ['web-canary', 'web']) {
        assert.ok(kube.requests.some((r) => r.method === 'PATCH' && r.path.includes(`/namespaces/shop/helmreleases/${release}`)), `HelmRelease ${release}`);
      }
      assert.ok(kube.requests.some((r) => r.path.includes('/deployments/web-canary/scale')), 'the canary scaled down');
    } catch (error) {
      throw await explained(error, accepted.run_id);
    }
  });

  it('security-incident-response: a critical Falco alert through triage, approved containment, quarantine and an approved replacement; the rejoin fails and the replacement is rolled back (containment never)', async () => {
    // With the Talos lab the alert names a node of its cluster; without it, containment cannot reach Talos and the run stops there.
    const lab = !noTalosLab && talos !== undefined;
    const node = lab ? `talos-${TALOS_IPS[3]!.split('.').join('-')}` : `e2e-worker-${Date.now().toString(36).slice(-4)}`;
    if (lab) {
      // The compromised node's VM (Talos takes its hostname from the VM's name) and the configs for replacements.
      proxmox!.cluster.add({
        kind: 'qemu', vmid: 990, node: 'pve1', status: 'running', startedAt: Date.now(),
        config: { name: node, memory: '16384', cores: 8, sockets: 1, ostype: 'l26', scsi0: 'ceph:vm-990-disk-0,size=100G', net0: 'virtio=BC:24:11:00:09:90,bridge=vmbr0' },
      });
      const configDir = join(work, 'n8n-user', '.n8n-files', 'talos', 'e2e-prod');
      mkdirSync(configDir, { recursive: true });
      writeFileSync(join(configDir, 'worker.yaml'), talos!.machineConfig('worker'));
    }
    const alert = {
      uuid: `falco-${node}`,
      rule: 'Terminal shell in container',
      priority: 'Critical',
      source: 'syscall',
      hostname: node,
      output: `A shell was spawned in a container (user=root pod=cart-1 node=${node})`,
      output_fields: { 'k8s.ns.name': 'shop', 'k8s.pod.name': 'cart-1', 'k8s.node.name': node },
    };
    const reply = await post('security-alert', alert);
    const accepted = (await reply.json()) as { run_id: string; concurrency_key: string };
    assert.equal(reply.status, 202, JSON.stringify(accepted));
    assert.equal(accepted.concurrency_key, `incident:e2e-prod:${node}`);
    /** security-master's own tooling: claim its handoff for the phase and complete it with `result`. */
    const securityMaster = async (phaseId: string, result: Record<string, unknown>) => {
      const handoff = await eventually(async () => {
        const list = await service!.call('GET', `/v1/handoffs?run_id=${accepted.run_id}&to_contractor=security-master`, { as: 'security-master' });
        return (list.body.items as any[])?.find((h) => h.phase_id === phaseId && h.status === 'pending');
      }, 120_000, 200);
      assert.equal((await service!.call('POST', `/v1/handoffs/${handoff.handoff_id}/claim`, { as: 'security-master', body: {} })).status, 200);
      const completed = await service!.call('POST', `/v1/handoffs/${handoff.handoff_id}/complete`, { as: 'security-master', body: { result } });
      assert.equal(completed.status, 200, completed.text);
      return handoff;
    };
    /** The Approval Gate's approval, decided by the named approvers (the admin's decision API). */
    const approve = async (actionId: string, approvers: string[]) => {
      const approvalId = `${accepted.run_id}-${actionId}`;
      const approval = await approvalCreated(approvalId);
      for (const approver of approvers) {
        const decided = await service!.call('POST', `/v1/approvals/${approvalId}/decisions`, { body: { approver, decision: 'approve', comment: `e2e: ${actionId}` } });
        assert.equal(decided.status, 200, decided.text);
      }
      return approval;
    };
    try {
      // No namespaces to isolate with the lab: its Kubernetes fake serves no NetworkPolicy kind.
      const assess = await securityMaster('assess', { classification: 'container_breakout', nodes_to_contain: [node], namespaces_to_isolate: lab ? [] : ['shop'] });
      assert.deepEqual(assess.data.handoff.affected_nodes, [node]);
      assert.deepEqual(assess.data.handoff.affected_pods, ['shop/cart-1']);
      const containment = await approve('approve-containment', ['sam']);
      assert.equal(containment.required_approvals, 1);
      assert.match(containment.title, /^Contain 1 node\(s\) on e2e-prod$/);

      if (!lab) {
        const run = await eventually(async () => ((await runNow(accepted.run_id)).status === 'failed' ? runNow(accepted.run_id) : undefined), 120_000, 500);
        assert.equal(run.phases.find((p: any) => p.phase_id === 'contain').error.code, 'contain_failed');
        assert.deepEqual(run.rollback.steps, [], 'containment is never rolled back');
        return;
      }

      const findings = { findings_summary: 'reverse shell from cart-1', replacement_count: 1, replacement_roles: ['worker'], hardened_template_vmid: 9000, nodes_to_retire: [node] };
      await securityMaster('eradication-plan', findings);
      const replacement = await approve('approve-node-replacement', ['sam', 'pat']);
      assert.equal(replacement.required_approvals, 2);

      const run = await eventually(
        async () => {
          const current = await runNow(accepted.run_id);
          return current.status !== 'running' && (current.status === 'completed' || current.rollback?.steps.every((st: { status: string }) => st.status !== 'pending')) ? current : undefined;
        },
        180_000,
        500,
      );
      const phase = (id: string) => run.phases.find((p: { phase_id: string }) => p.phase_id === id);
      assert.deepEqual(
        run.phases.map((p: { phase_id: string; status: string }) => `${p.phase_id}:${p.status}`),
        ['triage:completed', 'assess:completed', 'contain:completed', 'quarantine-vms:completed', 'eradication-plan:completed', 'replace-nodes:completed', 'rejoin-cluster:failed', 'close-out:pending'],
      );
      assert.equal(phase('triage').output.alert_context.rule, 'Terminal shell in container');
      assert.deepEqual(phase('assess').output.approved_by, ['sam']);
      assert.deepEqual([...phase('eradication-plan').output.approved_by].sort(), ['pat', 'sam']);
      // Contained: the node cordoned and drained, etcd preserved as evidence.
      assert.ok(kube!.requests.some((r) => r.method === 'PATCH' && r.path.includes(`/nodes/${node}`)), 'cordoned');
      assert.ok(phase('contain').output.evidence_location && statSync(phase('contain').output.evidence_location).size > 32, JSON.stringify(phase('contain').output));
      // Quarantined: a snapshot with RAM, the quarantine VLAN, protection on.
      assert.deepEqual(phase('quarantine-vms').output.quarantined_vm_ids, [990]);
      const vm = proxmox!.cluster.guests.get(990)!;
      assert.match(String(vm.config.net0), /tag=999/);
      assert.equal(String(vm.config.protection), '1');
      assert.ok(vm.snapshots.some((snap) => snap.name.startsWith('forensic_inc-')));
      // Replaced, then rolled back: the rejoin could not reach the replacement (nothing on 127.0.0.30).
      assert.deepEqual(phase('replace-nodes').output.replacement_ips, ['127.0.0.30']);
      assert.equal(phase('rejoin-cluster').error.code, 'rejoin-cluster_failed');
      assert.deepEqual(
        run.rollback.steps.map((st: { phase_id: string; contractor: string; status: string }) => [st.phase_id, st.contractor, st.status]),
        [
          ['rejoin-cluster', 'talos-contractor', 'failed'],
          ['replace-nodes', 'infrastructure-contractor', 'done'],
        ],
      );
      assert.deepEqual([...proxmox!.cluster.guests.values()].filter((g) => String(g.config.name ?? '').startsWith('e2e-prod-replacement-')), []);
      assert.ok(proxmox!.cluster.guests.has(990), 'the quarantined VM stays (containment is never rolled back)');
      const orchestrator = byName('Cortex: Security Incident Response');
      const execution = await n8n!.waitFor(
        'the incident orchestrator finished',
        () => n8n!.executions(orchestrator.id).find((e) => e.status === 'error' && JSON.stringify(n8n!.runData(e.id).resultData.error ?? {}).includes(accepted.run_id)),
        60_000,
      );
      assert.match(String(n8n!.runData(execution.id).resultData.error?.message), /failed: rejoin-cluster_failed .*; rollback failed$/);
    } catch (error) {
      throw await explained(error, accepted.run_id);
    }
  });

  it('the etcd backup: n8n execute takes a snapshot from the lab cluster and writes the dated and the latest file', async () => {
    talosLab();
    // `n8n execute` is a second n8n on the same database: stop the server first. Fill Backup Settings as a user would.
    await n8n!.stop();
    const backup = structuredClone(byName('Cortex: etcd backup (backup-etcd-snapshot)'));
    const settings = backup.nodes.find((n) => n.name === 'Backup Settings')!.parameters.assignments as { assignments: Array<{ name: string; value: string }> };
    const backups = join(work, 'n8n-user', '.n8n-files', 'backups');
    for (const field of settings.assignments) {
      if (field.name === 'cluster_name') field.value = 'e2e-lab';
      if (field.name === 'control_plane_ip') field.value = TALOS_IPS[0]!;
      if (field.name === 'backup_dir') field.value = backups;
    }
    await n8n!.importWorkflows([backup]);
    const output = await timed('n8n execute (etcd backup)', () => n8n!.cli('execute', `--id=${backup.id}`));
    assert.match(output, /Execution was successful/, output);
    const files = readdirSync(backups).filter((f) => f.startsWith('e2e-lab-'));
    assert.ok(files.includes('e2e-lab-latest.snapshot'), files.join(', '));
    const dated = files.find((f) => /^e2e-lab-etcd-\d{8}-\d{6}\.snapshot$/.test(f));
    assert.ok(dated, files.join(', '));
    assert.deepEqual(readFileSync(join(backups, dated)), readFileSync(join(backups, 'e2e-lab-latest.snapshot')));
    assert.ok(statSync(join(backups, dated)).size > 32);
  });

  async function checkRun(run: any, runId: string, cluster: string, nodeIps: string[]): Promise<void> {
    const phase = (id: string) => run.phases.find((p: { phase_id: string }) => p.phase_id === id);
    assert.equal(phase('provision-monitoring-nodes').status, 'completed');
    const vmIds = phase('provision-monitoring-nodes').output.vm_ids as number[];
    assert.equal(vmIds.length, 2);
    assert.deepEqual(phase('provision-monitoring-nodes').output.node_ips, nodeIps);
    assert.equal(phase('install-stack').status, 'failed');
    assert.equal(phase('install-stack').error.code, 'machine_config_missing');
    assert.match(phase('install-stack').error.message, /monitoring-worker\.yaml/);
    assert.equal(phase('configure-alerting').status, 'pending');
    assert.deepEqual(
      run.rollback.steps.map((s: { phase_id: string; contractor: string; status: string }) => [s.phase_id, s.contractor, s.status]),
      [
        ['install-stack', 'talos-contractor', 'failed'],
        ['provision-monitoring-nodes', 'infrastructure-contractor', 'done'],
      ],
    );
    // Talos: the reset of the two monitoring nodes failed (no Talos here), saying why; Proxmox: the VMs went.
    assert.match(String(run.rollback.steps[0].note), /\S/);
    assert.match(String(run.rollback.steps[1].note), /^undone by infrastructure-contractor \(handoff hof_/);
    console.log(`rollback notes: ${JSON.stringify(run.rollback.steps.map((s: { note: string }) => s.note))}`);
    // The VMs the phase cloned are gone again.
    assert.deepEqual(
      [...proxmox!.cluster.guests.values()].filter((g) => String(g.config.name ?? '').startsWith(`${cluster}-`)).map((g) => g.config.name),
      [],
    );
    // The orchestrator's execution ended with the run's failure.
    const orchestrator = byName('Cortex: Deploy Monitoring Stack');
    const execution = await n8n!.waitFor(
      'the orchestrator finished',
      () => n8n!.executions(orchestrator.id).find((e) => e.status === 'error' && JSON.stringify(n8n!.runData(e.id).resultData.error ?? {}).includes(runId)),
      60_000,
    );
    assert.match(String(n8n!.runData(execution.id).resultData.error?.message), new RegExp(`^Run ${runId} of deploy-monitoring-stack failed: machine_config_missing`));
  }
});
