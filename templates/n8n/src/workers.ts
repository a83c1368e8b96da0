// The infrastructure-contractor's and talos-contractor's worker workflows: every phase (and
// rollback) of the seed workflows that the orchestrators hand to them.

import type { WorkflowBuilder } from './builder.ts';
import { aggregate, expr, http, ifTrue, noOp, onErrorOutput, proxmox, readFile, set, talos, tmpl, writeFile } from './nodes.ts';
import { H, O, P, T, Worker } from './worker.ts';

const continueOnError = { onError: 'continueRegularOutput' as const };

// ============================================================================ infrastructure

const INFRA_ROUTES = [
  'provision-monitoring-nodes',
  'provision-vms',
  'activate-dr-infrastructure',
  'shift-traffic',
  'quarantine-vms',
  'replace-nodes',
  'provision-monitoring-nodes-rollback',
  'provision-vms-rollback',
  'replace-nodes-rollback',
  'activate-dr-infrastructure-rollback',
  'shift-traffic-rollback',
];

const INFRA_NOTE = `## Cortex: infrastructure-contractor worker

Runs the Proxmox side of every Cortex workflow. The orchestrators hand a phase to **infrastructure-contractor**; the **Handoff Trigger** starts this workflow, **Claim** takes the handoff, **Route** picks the phase (or its rollback) and the Proxmox nodes do the work; **Complete Handoff** returns the result (the phase's output), any failure goes to **Fail Handoff**.

Credentials: **Cortex (infrastructure-contractor)** (the contractor's token), **Proxmox VE**; for dr-failover **Proxmox VE (primary site)** and **Proxmox VE (DR site)**.

VMs are named \`<cluster>-mon-N\`, \`<cluster>-cp-N\`, \`<cluster>-worker-N\`, \`<cluster>-replacement-N\`: rollbacks find them by name, so a half-finished phase is undone too. Publish this workflow (activate) once; it serves every run.`;

/** Clone → size → (resize) → start, one item per VM of `vmsCode` ([{name, ip, cores, memory, role}]). */
function provision(w: Worker, route: string, label: string, vmsCode: string, options: { template: string; tags: string; resize?: string }): string {
  const split = w.items(w.start(route, set(`${label}: Plan`, [['vms', 'array', expr(vmsCode)]])), `${label}: VMs`, '$json.vms');
  const item = `$('Split: ${label}: VMs').item.json`;
  const cloneName = `Clone ${label} VM`;
  const cloned = w.then(
    split,
    proxmox(
      cloneName,
      'clone',
      {
        node: expr(`${P}.proxmox_node`),
        vmId: expr(options.template),
        cloneName: expr('$json.name'),
        full: true,
        additionalFields: { storage: expr(`${P}.storage ?? ''`), pool: expr(`${P}.proxmox_pool ?? ''`), description: tmpl(`Cortex ${route} (run {{ ${T}.run_id }})`) },
        cloudInit: {
          ipConfig: { interface: [{ index: 0, ip: expr(`$json.ip + '/' + (${P}.prefix_length ?? 24)`), gateway: expr(`${P}.gateway`) }] },
          nameserver: expr(`${P}.nameserver ?? ''`),
        },
        options: { taskTimeout: 1200 },
      },
      onErrorOutput,
    ),
  );
  const vmid = `$('${cloneName}').item.json.vmid`;
  let last = w.then(
    cloned,
    proxmox(
      `Size ${label} VM`,
      'updateConfig',
      {
        node: expr(`${P}.proxmox_node`),
        vmId: expr(vmid),
        config: { cores: expr(`${item}.cores`), memory: expr(`${item}.memory`), tags: tmpl(options.tags), onboot: true },
        options: {},
      },
      onErrorOutput,
    ),
  );
  if (options.resize) {
    last = w.then(
      last,
      proxmox(`Grow ${label} Disk`, 'resize', { node: expr(`${P}.proxmox_node`), vmId: expr(vmid), disk: 'scsi0', size: options.resize, options: {} }, onErrorOutput),
    );
  }
  last = w.then(
    last,
    proxmox(`Start ${label} VM`, 'start', { node: expr(`${P}.proxmox_node`), vmId: expr(vmid), options: { alreadyRunningOk: true } }, onErrorOutput),
  );
  return w.collect(last, `${label} VMs Started`, 'started');
}

/** Rollback of a provisioning phase: every VM named like the phase's VMs goes (stopped first), found by name. */
function deleteByName(w: Worker, routes: Array<[string, string]>): void {
  const b = w.b;
  const pattern = b.add(
    set('VM Name Pattern', [
      ['pattern', 'string', expr(`({ ${routes.map(([route, suffix]) => `'${route}': '^' + ${P}.cluster_name + '-${suffix}-[0-9]+$'`).join(', ')} })[${T}.route]`)],
    ]),
  );
  for (const [route] of routes) w.startAt(route, pattern);
  const list = w.then(
    pattern,
    proxmox('Find VMs to Delete', 'list', { node: expr(`${P}.proxmox_node`), filters: { templates: 'exclude', name: expr(`${P}.cluster_name + '-'`) }, options: {} }, {
      ...onErrorOutput,
      alwaysOutputData: true,
    }),
  );
  const all = w.collect(list, 'Listed VMs', 'vms');
  const doomed = w.then(
    all,
    set('VMs to Delete', [
      ['vms', 'array', expr(`$json.vms.filter(v => v.vmid && new RegExp($('VM Name Pattern').first().json.pattern).test(v.name ?? '')).map(v => ({ vmid: v.vmid, name: v.name }))`)],
    ]),
  );
  const any = b.add(ifTrue('Anything to Delete?', '$json.vms.length > 0'));
  b.connect(doomed, any);
  const split = w.items(any, 'Doomed VMs', '$json.vms');
  const deleted = w.then(
    split,
    proxmox(
      'Delete VM',
      'delete',
      { node: expr(`${P}.proxmox_node`), vmId: expr('$json.vmid'), options: { purge: true, destroyUnreferencedDisks: true, stopIfRunning: true } },
      onErrorOutput,
    ),
  );
  const gone = w.collect(deleted, 'VMs Deleted', 'deleted');
  const result = w.result(gone, 'delete-vms', `({ deleted_vm_ids: $json.deleted.map(d => d.vmid) })`);
  b.connect(any, result, 1);
}

export function infrastructureWorker(): WorkflowBuilder {
  const w = new Worker(
    { id: 'CortexInfraWorker', name: 'Cortex: infrastructure-contractor worker', file: 'infrastructure-contractor-worker.json' },
    'infrastructure-contractor',
    'cortexInfrastructure',
    INFRA_ROUTES,
    INFRA_NOTE,
  );
  const b = w.b;

  // deploy-monitoring-stack / provision-monitoring-nodes
  const monitoring = provision(
    w,
    'provision-monitoring-nodes',
    'Monitoring',
    `${P}.monitoring_node_ips.map((ip, i) => ({ name: ${P}.cluster_name + '-mon-' + (i + 1), ip, cores: 4, memory: 16384 }))`,
    { template: `${P}.talos_template_vmid`, tags: `talos;monitoring;{{ ${P}.environment }}`, resize: '250G' },
  );
  w.result(
    monitoring,
    'provision-monitoring-nodes',
    `({ vm_ids: $('Clone Monitoring VM').all().map(i => i.json.vmid), node_ips: ${P}.monitoring_node_ips, vm_names: $('Clone Monitoring VM').all().map(i => i.json.name) })`,
  );

  // build-k8s-cluster / provision-vms
  const cluster = provision(
    w,
    'provision-vms',
    'Cluster',
    `${P}.control_plane_ips.map((ip, i) => ({ name: ${P}.cluster_name + '-cp-' + (i + 1), ip, role: 'controlplane', cores: 4, memory: 8192 }))` +
      `.concat(${P}.worker_ips.map((ip, i) => ({ name: ${P}.cluster_name + '-worker-' + (i + 1), ip, role: 'worker', cores: 8, memory: 16384 })))`,
    { template: `${P}.talos_template_vmid`, tags: `talos;{{ $('Split: Cluster: VMs').item.json.role }};{{ ${P}.cluster_name }}` },
  );
  w.result(
    cluster,
    'provision-vms',
    `({ all_vm_ids: $('Clone Cluster VM').all().map(i => i.json.vmid), vm_ids: $('Clone Cluster VM').all().map(i => i.json.vmid), ` +
      `control_plane_vm_ids: $('Clone Cluster VM').all().filter(i => i.json.name.includes('-cp-')).map(i => i.json.vmid), ` +
      `worker_vm_ids: $('Clone Cluster VM').all().filter(i => i.json.name.includes('-worker-')).map(i => i.json.vmid), ` +
      `control_plane_ips: ${P}.control_plane_ips, worker_ips: ${P}.worker_ips })`,
  );

  // dr-failover / activate-dr-infrastructure
  {
    const primary = w.items(w.start('activate-dr-infrastructure', noOp('Fence Primary Site')), 'Primary VMs', `${P}.primary_vmids.map(vmid => ({ vmid }))`);
    const fenced = w.then(
      primary,
      proxmox(
        'Stop Primary VM',
        'stop',
        { node: expr(`${P}.primary_proxmox_node`), vmId: expr('$json.vmid'), options: { taskTimeout: 120 } },
        { cred: 'proxmoxPrimary', ...continueOnError },
      ),
    );
    const fencedAll = w.collect(fenced, 'Primary VMs Fenced', 'fenced');
    const standby = w.items(fencedAll, 'Standby VMs', `${P}.dr_vmids.map(vmid => ({ vmid }))`);
    const started = w.then(
      standby,
      proxmox('Start Standby VM', 'start', { node: expr(`${P}.dr_proxmox_node`), vmId: expr('$json.vmid'), options: { alreadyRunningOk: true } }, { cred: 'proxmoxDr', ...onErrorOutput }),
      proxmox('Standby VM Status', 'getStatus', { node: expr(`${P}.dr_proxmox_node`), vmId: expr("$('Split: Standby VMs').item.json.vmid"), options: {} }, { cred: 'proxmoxDr', ...onErrorOutput }),
    );
    const statuses = w.collect(started, 'Standby VMs Checked', 'standby');
    const running = w.check(
      statuses,
      'All Standby VMs Running?',
      "$json.standby.every(v => v.status === 'running')",
      'standby_vms_not_running',
      "'not running: ' + $json.standby.filter(v => v.status !== 'running').map(v => v.vmid + ' (' + v.status + ')').join(', ')",
    );
    w.result(
      running,
      'activate-dr-infrastructure',
      `({ dr_vm_ids: ${P}.dr_vmids, dr_control_plane_ips: ${P}.dr_control_plane_ips, dr_worker_ips: ${P}.dr_worker_ips ?? [], ` +
        `primary_fenced: $('Primary VMs Fenced').first().json.fenced.every(f => !f.error), ` +
        `fenced_vm_ids: $('Primary VMs Fenced').first().json.fenced.filter(f => !f.error).map(f => f.vmid) })`,
    );
  }

  // app-deployment-pipeline / shift-traffic
  {
    const name = w.start('shift-traffic', set('Snapshot Name', [['snapshot', 'string', expr("'predeploy_' + $now.toUTC().toFormat('yyyyMMdd_HHmmss')")]]));
    const snap = w.then(
      name,
      proxmox(
        'Snapshot Edge LB',
        'createSnapshot',
        {
          node: expr(`${P}.proxmox_node`),
          vmId: expr(`${P}.edge_lb_vmid`),
          snapshotName: expr('$json.snapshot'),
          snapshotDescription: tmpl(`Before {{ ${P}.app_name }} {{ ${P}.commit_sha }} (run {{ ${T}.run_id }})`),
          vmstate: false,
          options: { taskTimeout: 300 },
        },
        onErrorOutput,
      ),
      noOp('Update LB Backends', 'Point the edge load balancer at the new release (HAProxy Data Plane API, nginx, …): replace this with an HTTP Request to your load balancer'),
    );
    w.result(snap, 'shift-traffic', `({ lb_snapshot: $('Snapshot Name').first().json.snapshot, public_url: ${P}.public_url, backends: ${H}.service_node_ports ?? null })`);
  }

  // security-incident-response / quarantine-vms
  {
    const list = w.start(
      'quarantine-vms',
      proxmox('List VMs', 'list', { node: expr(`${P}.proxmox_node`), filters: { templates: 'exclude' }, options: {} }, { ...onErrorOutput, alwaysOutputData: true }),
    );
    const all = w.collect(list, 'All VMs', 'vms');
    const found = w.then(
      all,
      set('Contained VMs', [
        ['vms', 'array', expr(`$json.vms.filter(v => (${H}.contained_nodes ?? ${H}.contained_node_ips ?? []).includes(v.name)).map(v => ({ vmid: v.vmid, name: v.name }))`)],
      ]),
    );
    const ok = w.check(
      found,
      'Found Every Contained VM?',
      `$json.vms.length > 0 && $json.vms.length === (${H}.contained_nodes ?? ${H}.contained_node_ips ?? []).length`,
      'contained_vms_not_found',
      `'VMs named like the contained nodes: found ' + $json.vms.map(v => v.name).join(', ') + ' of ' + (${H}.contained_nodes ?? ${H}.contained_node_ips ?? []).join(', ')`,
    );
    const split = w.items(ok, 'Quarantine', '$json.vms');
    const vm = "$('Split: Quarantine').item.json.vmid";
    const done = w.then(
      split,
      proxmox(
        'Forensic Snapshot',
        'createSnapshot',
        {
          node: expr(`${P}.proxmox_node`),
          vmId: expr(vm),
          snapshotName: expr(`('forensic_' + ${P}.incident_id).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)`),
          snapshotDescription: tmpl(`Incident {{ ${P}.incident_id }}: memory and disk state before quarantine`),
          vmstate: true,
          options: { taskTimeout: 1800 },
        },
        onErrorOutput,
      ),
      proxmox(
        'Move to Quarantine VLAN',
        'updateConfig',
        {
          node: expr(`${P}.proxmox_node`),
          vmId: expr(vm),
          config: {
            net0: tmpl(`virtio,bridge={{ ${P}.quarantine_bridge }},tag={{ ${P}.quarantine_vlan }},firewall=1`),
            tags: tmpl(`quarantine;incident-{{ ${P}.incident_id }}`),
            protection: true,
          },
          options: { regenerateCloudInit: false },
        },
        onErrorOutput,
      ),
    );
    const quarantined = w.collect(done, 'VMs Quarantined', 'quarantined');
    w.result(
      quarantined,
      'quarantine-vms',
      `({ quarantined_vm_ids: $('Split: Quarantine').all().map(i => i.json.vmid), forensic_snapshots: $('Split: Quarantine').all().map(i => ({ vmid: i.json.vmid, snapshot: ('forensic_' + ${P}.incident_id).replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) })) })`,
    );
  }

  // security-incident-response / replace-nodes
  const replacements = provision(
    w,
    'replace-nodes',
    'Replacement',
    `${P}.replacement_ips.slice(0, ${H}.replacement_count ?? ${P}.replacement_ips.length).map((ip, i) => ({ name: ${P}.cluster_name + '-replacement-' + (i + 1), ip, role: (${H}.replacement_roles ?? [])[i] ?? 'worker', cores: 8, memory: 16384 }))`,
    { template: `${H}.hardened_template_vmid ?? ${P}.talos_template_vmid`, tags: `talos;replacement;incident-{{ ${P}.incident_id }}` },
  );
  w.result(
    replacements,
    'replace-nodes',
    `({ replacement_vm_ids: $('Clone Replacement VM').all().map(i => i.json.vmid), vm_ids: $('Clone Replacement VM').all().map(i => i.json.vmid), ` +
      `replacement_ips: $('Split: Replacement: VMs').all().map(i => i.json.ip), replacement_roles: $('Split: Replacement: VMs').all().map(i => i.json.role), nodes_to_retire: ${H}.nodes_to_retire ?? [] })`,
  );

  // rollbacks of the provisioning phases
  deleteByName(w, [
    ['provision-monitoring-nodes-rollback', 'mon'],
    ['provision-vms-rollback', '(cp|worker)'],
    ['replace-nodes-rollback', 'replacement'],
  ]);

  // dr-failover / activate-dr-infrastructure-rollback: stop the standby VMs, start the fenced primaries again
  {
    const standby = w.items(w.start('activate-dr-infrastructure-rollback', noOp('Back to Primary Site')), 'Standby VMs to Stop', `${P}.dr_vmids.map(vmid => ({ vmid }))`);
    const stopped = w.then(
      standby,
      proxmox('Stop Standby VM', 'stop', { node: expr(`${P}.dr_proxmox_node`), vmId: expr('$json.vmid'), options: {} }, { cred: 'proxmoxDr', ...continueOnError }),
    );
    const all = w.collect(stopped, 'Standby VMs Stopped', 'stopped');
    const primaries = w.then(all, set('Primary VMs to Restart', [['items', 'array', expr(`(${O}.fenced_vm_ids ?? []).map(vmid => ({ vmid }))`)]]));
    const any = b.add(ifTrue('Primaries to Restart?', '$json.items.length > 0'));
    b.connect(primaries, any);
    const restarted = w.then(
      any,
      { name: 'Split: Primary VMs to Restart', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'items', include: 'noOtherFields', options: {} } },
      proxmox(
        'Restart Primary VM',
        'start',
        { node: expr(`${P}.primary_proxmox_node`), vmId: expr('$json.vmid'), options: { alreadyRunningOk: true } },
        { cred: 'proxmoxPrimary', ...continueOnError },
      ),
      aggregate('Primary VMs Restarted', 'restarted'),
    );
    const result = w.result(
      restarted,
      'activate-dr-infrastructure-rollback',
      `({ stopped: $('Standby VMs Stopped').first().json.stopped.filter(s => !s.error).map(s => s.vmid), restarted: ($json.restarted ?? []).filter(r => !r.error).map(r => r.vmid), ` +
        `errors: $('Standby VMs Stopped').first().json.stopped.concat($json.restarted ?? []).filter(s => s.error).map(s => s.error) })`,
    );
    b.connect(any, result, 1);
  }

  // app-deployment-pipeline / shift-traffic-rollback: back to the pre-deploy snapshot
  {
    const restored = w.then(
      w.start(
        'shift-traffic-rollback',
        proxmox(
          'Roll Back Edge LB',
          'rollbackSnapshot',
          { node: expr(`${P}.proxmox_node`), vmId: expr(`${P}.edge_lb_vmid`), snapshotName: expr(`${O}.lb_snapshot`), startAfter: true, options: { taskTimeout: 300 } },
          onErrorOutput,
        ),
      ),
    );
    w.result(restored, 'shift-traffic-rollback', `({ restored_snapshot: ${O}.lb_snapshot })`);
  }
  return b;
}

// ============================================================================ talos

const TALOS_ROUTES = [
  'install-stack',
  'bootstrap-cluster',
  'restore-cluster',
  'deploy-canary',
  'contain',
  'rejoin-cluster',
  'install-stack-rollback',
  'bootstrap-cluster-rollback',
  'restore-cluster-rollback',
  'deploy-canary-rollback',
  'rejoin-cluster-rollback',
];

const TALOS_NOTE = `## Cortex: talos-contractor worker

Runs the Talos and Kubernetes side of every Cortex workflow: applies machine configuration to new nodes (credential **Talos maintenance mode**: the node's *Node* field is the address to dial), bootstraps etcd, waits for cluster health, fetches the kubeconfig, installs Helm charts through Flux, cordons and drains, takes etcd snapshots.

Credentials: **Cortex (talos-contractor)**, **Talos cluster** (the talosconfig of the cluster), **Talos maintenance mode** (maintenance mode on, no certificates), for dr-failover **Talos cluster (DR site)**.

Machine configurations are read from the run's \`talos_config_dir\` (\`controlplane.yaml\`, \`worker.yaml\`, \`monitoring-worker.yaml\` from \`talosctl gen config\`); snapshots are written into \`backup_dir\` / \`evidence_dir\` (which must exist: n8n does not create folders). n8n 2 only reads and writes files under N8N_RESTRICT_FILE_ACCESS_TO (default ~/.n8n-files).`;

const MONITORING_VALUES = `prometheus:
  service:
    type: NodePort
    nodePort: 30090
  prometheusSpec:
    retention: 15d
    nodeSelector:
      cortex.dev/role: monitoring
    tolerations:
      - key: cortex.dev/monitoring
        operator: Exists
        effect: NoSchedule
alertmanager:
  service:
    type: NodePort
    nodePort: 30903
  alertmanagerSpec:
    nodeSelector:
      cortex.dev/role: monitoring
    tolerations:
      - key: cortex.dev/monitoring
        operator: Exists
        effect: NoSchedule
  config:
    route:
      receiver: n8n
      group_by: [alertname, cluster]
    receivers:
      - name: n8n
        webhook_configs:
          - url: "{{ ${P}.n8n_alert_webhook_url }}"
            send_resolved: true
grafana:
  service:
    type: NodePort
    nodePort: 30300
  nodeSelector:
    cortex.dev/role: monitoring
  tolerations:
    - key: cortex.dev/monitoring
      operator: Exists
      effect: NoSchedule`;

/** Read Files returns no item for a missing file (and then one empty item, alwaysOutputData): fail the handoff naming the file. */
function configFound(w: Worker, read: string, label: string, fileCode: string): string {
  return w.check(read, `${label} Config Found?`, '$binary?.data !== undefined', 'machine_config_missing', `'no machine configuration at ' + ${fileCode}`);
}

/** Apply a machine configuration file to every address of `listCode` (maintenance mode). */
function applyConfigs(w: Worker, from: string, label: string, listCode: string, fileCode: string): string {
  const split = w.items(from, `${label} Nodes`, listCode);
  const read = w.then(split, readFile(`Read ${label} Config`, expr(fileCode), 'data', { ...onErrorOutput, alwaysOutputData: true }));
  const found = configFound(w, read, label, fileCode);
  const applied = w.then(
    found,
    talos(
      `Apply ${label} Config`,
      'machine',
      'applyConfiguration',
      { configSource: 'binary', binaryPropertyName: 'data', mode: 'AUTO', dryRun: false, node: expr(`$('Split: ${label} Nodes').item.json.ip`), timeout: 60 },
      { cred: 'talosMaintenance', ...onErrorOutput },
    ),
  );
  return w.collect(applied, `${label} Configured`, 'applied');
}

/** Rollback steps that act on several nodes: a result when all went well, else Fail Handoff with the errors. */
// A rollback's reset waits until the node has powered off (reset without reboot), so the step is
// done only when the node is wiped and off (before the infrastructure worker deletes its VM); a
// node that does not get there within the timeout fails the step with what was last seen. The
// nodes are reset one after another: 300 s each keeps a rollback of several nodes inside the
// rollback handoff's completion timeout (3600 s).
const RESET_WAIT = { wait: true, waitTimeout: 300, retryInterval: 5 };

function finishRollback(w: Worker, from: string, route: string, field: string): void {
  const ok = w.check(
    from,
    `${route}: Clean?`,
    `$json.${field}.every(r => !r.error)`,
    `${route.replace(/-/g, '_')}_incomplete`,
    `$json.${field}.filter(r => r.error).map(r => r.error).join('; ')`,
  );
  w.result(ok, route, `({ undone: $json.${field}.length })`);
}

export function talosWorker(): WorkflowBuilder {
  const w = new Worker(
    { id: 'CortexTalosWorker', name: 'Cortex: talos-contractor worker', file: 'talos-contractor-worker.json' },
    'talos-contractor',
    'cortexTalos',
    TALOS_ROUTES,
    TALOS_NOTE,
  );
  const b = w.b;

  // deploy-monitoring-stack / install-stack
  {
    const applied = applyConfigs(
      w,
      w.start('install-stack', noOp('Join Monitoring Nodes')),
      'Monitoring',
      `${H}.node_ips.map(ip => ({ ip }))`,
      `${P}.talos_config_dir + '/monitoring-worker.yaml'`,
    );
    const done = w.then(
      applied,
      talos('Cluster Healthy', 'machine', 'health', { waitTimeout: 600, controlPlaneNodes: '', workerNodes: '', node: '', timeout: 30 }, onErrorOutput),
      talos(
        'Deploy kube-prometheus-stack',
        'kubernetes',
        'deployHelmChart',
        {
          helmMethod: 'flux',
          releaseName: 'kube-prometheus-stack',
          namespace: 'flux-system',
          targetNamespace: 'monitoring',
          chart: 'kube-prometheus-stack',
          chartVersion: expr(`${P}.chart_version`),
          repoUrl: 'https://prometheus-community.github.io/helm-charts',
          values: tmpl(MONITORING_VALUES),
          waitReady: true,
          helmTimeout: 900,
          pollInterval: 10,
          dryRun: false,
          node: '',
        },
        onErrorOutput,
      ),
      talos(
        'Grafana Rolled Out',
        'kubernetes',
        'waitForRollout',
        { kind: 'Deployment', name: 'kube-prometheus-stack-grafana', namespace: 'monitoring', rolloutTimeout: 600, pollInterval: 5, node: '' },
        onErrorOutput,
      ),
    );
    w.result(
      done,
      'install-stack',
      `({ prometheus_url: 'http://' + ${H}.node_ips[0] + ':30090', alertmanager_url: 'http://' + ${H}.node_ips[0] + ':30903', grafana_url: 'http://' + ${H}.node_ips[0] + ':30300', node_ips: ${H}.node_ips })`,
    );
  }

  // build-k8s-cluster / bootstrap-cluster
  {
    const start = w.start('bootstrap-cluster', noOp('Configure New Nodes'));
    const cps = applyConfigs(w, start, 'Control Plane', `${H}.control_plane_ips.map(ip => ({ ip }))`, `${P}.talos_config_dir + '/controlplane.yaml'`);
    const workers = applyConfigs(w, cps, 'Worker', `${H}.worker_ips.map(ip => ({ ip }))`, `${P}.talos_config_dir + '/worker.yaml'`);
    const first = `${H}.control_plane_ips[0]`;
    const ready = w.then(
      workers,
      talos('Bootstrap etcd', 'machine', 'bootstrap', { waitTimeout: 600, retryInterval: 5, node: expr(first), timeout: 30 }, onErrorOutput),
      talos(
        'New Cluster Healthy',
        'machine',
        'health',
        { waitTimeout: 1200, controlPlaneNodes: expr(`${H}.control_plane_ips.join(',')`), workerNodes: expr(`${H}.worker_ips.join(',')`), node: expr(first), timeout: 30 },
        onErrorOutput,
      ),
      talos('Fetch Kubeconfig', 'machine', 'kubeconfig', { output: 'yaml', binaryPropertyName: 'data', node: expr(first), timeout: 30 }, onErrorOutput),
      writeFile('Store Kubeconfig', expr(`${P}.talos_config_dir + '/kubeconfig'`), 'data', onErrorOutput),
      http(
        'Download Flux',
        expr(`${P}.flux_install_url || 'https://github.com/fluxcd/flux2/releases/download/v' + ${P}.flux_version + '/install.yaml'`),
        { text: true, timeoutMs: 60_000 },
        onErrorOutput,
      ),
      talos(
        'Install Flux',
        'kubernetes',
        'apply',
        { manifests: expr('$json.data'), namespace: '', fieldManager: 'cortex', force: true, dryRun: false, node: expr(first) },
        onErrorOutput,
      ),
      {
        ...talos(
          'Install metrics-server',
          'kubernetes',
          'deployHelmChart',
          {
            helmMethod: 'flux',
            releaseName: 'metrics-server',
            namespace: 'flux-system',
            targetNamespace: 'kube-system',
            chart: 'metrics-server',
            chartVersion: expr(`${P}.metrics_server_chart_version ?? ''`),
            repoUrl: 'https://kubernetes-sigs.github.io/metrics-server/',
            waitReady: true,
            helmTimeout: 300,
            node: expr(first),
          },
          continueOnError,
        ),
        executeOnce: true,
      },
      talos('Initial etcd Snapshot', 'etcd', 'snapshot', { binaryPropertyName: 'data', fileName: 'etcd-initial.snapshot', verifyHash: true, node: expr(first) }, continueOnError),
      writeFile('Store Initial Snapshot', expr(`${P}.backup_dir + '/' + ${P}.cluster_name + '-etcd-initial.snapshot'`), 'data', continueOnError),
    );
    w.result(
      ready,
      'bootstrap-cluster',
      `({ cluster_endpoint: 'https://' + ${P}.control_plane_vip + ':6443', kubeconfig_secret: ${P}.talos_config_dir + '/kubeconfig', control_plane_ips: ${H}.control_plane_ips, worker_ips: ${H}.worker_ips, ` +
        `talos_version: ${P}.talos_version ?? null, kubernetes_version: ${P}.kubernetes_version ?? null, initial_snapshot: $json.error ? null : ${P}.backup_dir + '/' + ${P}.cluster_name + '-etcd-initial.snapshot' })`,
    );
  }

  // dr-failover / restore-cluster: etcd recovered from the latest replicated snapshot (the etcd backup's
  // <backup_dir>/<cluster>-latest.snapshot, or `etcd_snapshot`) on the DR bootstrap node; a DR site
  // whose etcd already runs (warm standby) goes on as it is; without a snapshot the node is bootstrapped.
  {
    const node = `${P}.dr_bootstrap_node_ip`;
    const snapshotPath = `(${P}.etcd_snapshot ?? (${P}.backup_dir + '/' + ${P}.cluster_name + '-latest.snapshot'))`;
    const read = w.start('restore-cluster', readFile('Read Latest etcd Snapshot', expr(snapshotPath), 'data', { ...onErrorOutput, alwaysOutputData: true }));
    const found = b.add(ifTrue('Snapshot Found?', '$binary?.data !== undefined'));
    b.connect(read, found);
    const recover = b.add(
      talos('Recover etcd From Snapshot', 'etcd', 'recover', { binaryPropertyName: 'data', skipHashCheck: false, waitTimeout: 300, retryInterval: 5, node: expr(node), timeout: 30 }, { cred: 'talosDr', ...continueOnError }),
    );
    b.connect(found, recover);
    const recovered = b.add(ifTrue('Recovered?', '$json.error === undefined'));
    b.connect(recover, recovered);
    const standby = b.add(ifTrue('DR etcd Already Running?', '/already running/.test(String($json.error))'));
    b.connect(recovered, standby, 1);
    const recoveryFailed = b.add(
      set('Recovery Failed', [
        ['error_code', 'string', 'etcd_recovery_failed'],
        ['error_message', 'string', expr(`'etcd recovery on ' + ${node} + ' failed: ' + $json.error`)],
      ]),
    );
    b.connect(standby, recoveryFailed, 1);
    b.connect(recoveryFailed, w.fail);
    const [bootstrap, bootstrapped] = w.add(
      talos('Bootstrap DR Control Plane', 'machine', 'bootstrap', { waitTimeout: 120, retryInterval: 5, node: expr(node), timeout: 30 }, { cred: 'talosDr', ...onErrorOutput }),
    );
    b.connect(found, bootstrap, 1);
    const restored = w.then(
      bootstrapped,
      talos(
        'DR Cluster Healthy',
        'machine',
        'health',
        {
          waitTimeout: 300,
          controlPlaneNodes: expr(`(${H}.dr_control_plane_ips ?? []).join(',')`),
          workerNodes: expr(`(${H}.dr_worker_ips ?? []).join(',')`),
          node: expr(node),
          timeout: 30,
        },
        { cred: 'talosDr', ...onErrorOutput },
      ),
      talos('Fetch DR Kubeconfig', 'machine', 'kubeconfig', { output: 'yaml', binaryPropertyName: 'data', node: expr(node), timeout: 30 }, { cred: 'talosDr', ...onErrorOutput }),
      writeFile('Store DR Kubeconfig', expr(`${P}.talos_config_dir + '/kubeconfig-dr'`), 'data', onErrorOutput),
    );
    b.connect(recovered, 'DR Cluster Healthy');
    b.connect(standby, 'DR Cluster Healthy');
    const workloads = w.items(restored, 'Critical Workloads', `${P}.critical_workloads`);
    const rolled = w.then(
      workloads,
      talos(
        'Wait for Workload',
        'kubernetes',
        'waitForRollout',
        { kind: expr("$json.kind ?? 'Deployment'"), name: expr('$json.name'), namespace: expr('$json.namespace'), rolloutTimeout: 300, pollInterval: 5, node: expr(node) },
        { cred: 'talosDr', ...onErrorOutput },
      ),
    );
    const all = w.collect(rolled, 'Workloads Ready', 'workloads');
    w.result(
      all,
      'restore-cluster',
      `({ dr_cluster_endpoint: 'https://' + ${P}.dr_control_plane_vip + ':6443', dr_ingress_ip: ${P}.dr_ingress_ip, kubeconfig_secret: ${P}.talos_config_dir + '/kubeconfig-dr', workloads_ready: $json.workloads.length })`,
    );
  }

  // app-deployment-pipeline / deploy-canary
  const release = (name: string, releaseCode: string, tagCode: string, track: string, timeout: number) =>
    talos(
      name,
      'kubernetes',
      'deployHelmChart',
      {
        helmMethod: 'flux',
        releaseName: expr(releaseCode),
        namespace: expr(`${P}.namespace`),
        targetNamespace: '',
        chart: expr(`${P}.chart`),
        chartVersion: expr(`${P}.chart_version ?? ''`),
        repoUrl: expr(`${P}.chart_repository`),
        values: tmpl(`image:\n  repository: "{{ ${P}.image_repository }}"\n  tag: "{{ ${tagCode} }}"\n${track === 'canary' ? 'replicaCount: 1\n' : ''}track: ${track}`),
        waitReady: true,
        helmTimeout: timeout,
        node: '',
      },
      onErrorOutput,
    );
  {
    const canary = `${P}.app_name + '-canary'`;
    const done = w.then(
      w.start('deploy-canary', release('Deploy Canary', canary, `${H}.image_tag`, 'canary', 300)),
      talos('Canary Rolled Out', 'kubernetes', 'waitForRollout', { kind: 'Deployment', name: expr(canary), namespace: expr(`${P}.namespace`), rolloutTimeout: 300, node: '' }, onErrorOutput),
      http('Smoke Test Canary', tmpl(`{{ ${P}.canary_url }}/healthz`), { timeoutMs: 10_000 }, { ...onErrorOutput, retryOnFail: true, maxTries: 5, waitBetweenTries: 5000 }),
      http('Canary Ready', tmpl(`{{ ${P}.canary_url }}/readyz`), { timeoutMs: 10_000 }, { ...onErrorOutput, retryOnFail: true, maxTries: 5, waitBetweenTries: 5000 }),
      release('Promote Release', `${P}.app_name`, `${H}.image_tag`, 'stable', 600),
      talos('Stable Rolled Out', 'kubernetes', 'waitForRollout', { kind: 'Deployment', name: expr(`${P}.app_name`), namespace: expr(`${P}.namespace`), rolloutTimeout: 600, node: '' }, onErrorOutput),
      talos('Scale Down Canary', 'kubernetes', 'scale', { scaleKind: 'Deployment', name: expr(canary), namespace: expr(`${P}.namespace`), replicas: 0, node: '' }, continueOnError),
    );
    w.result(
      done,
      'deploy-canary',
      `({ service_node_ports: ${P}.service_node_ports ?? [], previous_revision: ${P}.previous_image_tag ?? null, new_revision: ${H}.image_tag })`,
    );
  }

  // security-incident-response / contain
  {
    const namespaces = `(${H}.namespaces_to_isolate ?? [])`;
    const any = w.start('contain', ifTrue('Namespaces to Isolate?', `${namespaces}.length > 0`));
    const [isolate, isolated] = w.add(
      talos(
        'Isolate Namespaces',
        'kubernetes',
        'apply',
        {
          manifests: expr(
            `${namespaces}.map(ns => ['apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata:', '  name: cortex-incident-isolation', '  namespace: ' + ns, 'spec:', '  podSelector: {}', ` +
              `'  policyTypes: [Ingress, Egress]', '  egress:', '    - ports:', '        - protocol: UDP', '          port: 53', '        - protocol: TCP', '          port: 53'].join('\\n')).join('\\n---\\n')`,
          ),
          namespace: '',
          fieldManager: 'cortex-incident-response',
          force: true,
          dryRun: false,
          node: expr(`${P}.healthy_control_plane_ip`),
        },
        onErrorOutput,
      ),
    );
    b.connect(any, isolate, 0);
    const nodes = b.add({ ...set('Nodes to Contain', [['items', 'array', expr(`(${H}.nodes_to_contain ?? []).map(name => ({ name }))`)]]), executeOnce: true });
    b.connect(isolated, nodes, 0);
    b.connect(any, nodes, 1);
    const split = w.then(nodes, { name: 'Split: Nodes to Contain', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'items', include: 'noOtherFields', options: {} } });
    const cordoned = w.then(
      split,
      talos('Cordon Node', 'kubernetes', 'cordon', { nodeName: expr('$json.name'), dryRun: false, node: expr(`${P}.healthy_control_plane_ip`) }, onErrorOutput),
    );
    const evidence = `${P}.evidence_dir + '/' + ${P}.incident_id + '-etcd.snapshot'`;
    const preserved = w.then(
      w.collect(cordoned, 'Nodes Cordoned', 'cordoned'),
      noOp('Collect Support Bundle', 'talosctl support (dmesg, service logs, processes, mounts) has no Talos node operation yet: run it from your forensics host'),
      talos('Preserve etcd State', 'etcd', 'snapshot', { binaryPropertyName: 'data', fileName: 'etcd.snapshot', verifyHash: true, node: expr(`${P}.healthy_control_plane_ip`) }, continueOnError),
      writeFile('Store Evidence Snapshot', expr(evidence), 'data', continueOnError),
    );
    const drain = w.items(preserved, 'Nodes to Drain', `(${H}.nodes_to_contain ?? []).map(name => ({ name }))`);
    const drained = w.then(
      drain,
      talos('Drain Node', 'kubernetes', 'drain', { nodeName: expr('$json.name'), ignoreDaemonSets: true, drainTimeout: 900, dryRun: false, node: expr(`${P}.healthy_control_plane_ip`) }, continueOnError),
    );
    const all = w.collect(drained, 'Nodes Drained', 'drained');
    w.result(
      all,
      'contain',
      `({ contained_nodes: ${H}.nodes_to_contain ?? [], contained_node_ips: ${H}.nodes_to_contain ?? [], contained_vm_ids: ${H}.contained_vm_ids ?? [], evidence_location: $('Store Evidence Snapshot').first().json.error ? null : ${evidence}, drain_errors: $json.drained.filter(d => d.error).map(d => d.error) })`,
    );
  }

  // security-incident-response / rejoin-cluster
  {
    const start = w.start('rejoin-cluster', noOp('Join Replacements'));
    const split = w.items(start, 'Replacement Nodes', `${H}.replacement_ips.map((ip, i) => ({ ip, role: (${H}.replacement_roles ?? [])[i] ?? 'worker' }))`);
    const replacementFile = `${P}.talos_config_dir + '/' + ($('Split: Replacement Nodes').item.json.role === 'controlplane' ? 'controlplane' : 'worker') + '.yaml'`;
    const read = w.then(split, readFile('Read Replacement Config', expr(replacementFile), 'data', { ...onErrorOutput, alwaysOutputData: true }));
    const applied = w.then(
      configFound(w, read, 'Replacement', `${P}.talos_config_dir + '/<role>.yaml'`),
      talos(
        'Apply Replacement Config',
        'machine',
        'applyConfiguration',
        { configSource: 'binary', binaryPropertyName: 'data', mode: 'AUTO', dryRun: false, node: expr("$('Split: Replacement Nodes').item.json.ip"), timeout: 60 },
        { cred: 'talosMaintenance', ...onErrorOutput },
      ),
    );
    const healthy = w.then(
      w.collect(applied, 'Replacements Configured', 'applied'),
      talos('Replacements Healthy', 'machine', 'health', { waitTimeout: 900, controlPlaneNodes: '', workerNodes: '', node: expr(`${P}.healthy_control_plane_ip`), timeout: 30 }, onErrorOutput),
      talos('List etcd Members', 'etcd', 'listMembers', { node: expr(`${P}.healthy_control_plane_ip`), timeout: 30 }, onErrorOutput),
    );
    const members = w.then(
      w.collect(healthy, 'etcd Members', 'members'),
      set('Members to Remove', [['items', 'array', expr(`$json.members.filter(m => (${H}.nodes_to_retire ?? []).includes(m.hostname)).map(m => ({ id: m.id, hostname: m.hostname }))`)]]),
    );
    const any = b.add(ifTrue('Members to Remove?', '$json.items.length > 0'));
    b.connect(members, any);
    const removed = w.then(
      any,
      { name: 'Split: Members to Remove', type: 'n8n-nodes-base.splitOut', typeVersion: 1, parameters: { fieldToSplitOut: 'items', include: 'noOtherFields', options: {} } },
      talos('Remove etcd Member', 'etcd', 'removeMember', { memberId: expr('$json.id'), node: expr(`${P}.healthy_control_plane_ip`), timeout: 30 }, onErrorOutput),
      aggregate('Members Removed', 'removed'),
    );
    const retire = b.add(noOp('Delete Retired Nodes', 'kubectl delete node for the retired nodes: the Talos node has no delete operation; the retired nodes stay cordoned (NotReady) until deleted'));
    b.connect(removed, retire);
    b.connect(any, retire, 1);
    const snapshotted = w.then(
      retire,
      talos('Post-incident Snapshot', 'etcd', 'snapshot', { binaryPropertyName: 'data', fileName: 'post-incident.snapshot', verifyHash: true, node: expr(`${P}.healthy_control_plane_ip`) }, continueOnError),
      writeFile('Store Post-incident Snapshot', expr(`${P}.backup_dir + '/' + ${P}.cluster_name + '-post-incident-' + ${P}.incident_id + '.snapshot'`), 'data', continueOnError),
    );
    w.result(
      snapshotted,
      'rejoin-cluster',
      `({ cluster_endpoint: 'https://' + ${P}.control_plane_vip + ':6443', replacement_ips: ${H}.replacement_ips, retired_nodes: ${H}.nodes_to_retire ?? [] })`,
    );
  }

  // rollbacks
  {
    const uninstall = w.start(
      'install-stack-rollback',
      noOp('Uninstall kube-prometheus-stack', 'The Talos node cannot delete a HelmRelease: run flux delete helmrelease kube-prometheus-stack -n flux-system; the nodes are reset below'),
    );
    const split = w.items(uninstall, 'Monitoring Nodes to Reset', `(${H}.node_ips ?? []).map(ip => ({ ip }))`);
    const reset = w.then(split, talos('Reset Monitoring Node', 'machine', 'reset', { graceful: false, reboot: false, wipeMode: 'ALL', node: expr('$json.ip'), timeout: 60, ...RESET_WAIT }, continueOnError));
    finishRollback(w, w.collect(reset, 'Monitoring Nodes Reset', 'reset'), 'install-stack-rollback', 'reset');
  }
  {
    const split = w.items(
      w.start('bootstrap-cluster-rollback', noOp('Tear Down New Cluster')),
      'Cluster Nodes to Reset',
      `(${H}.control_plane_ips ?? []).concat(${H}.worker_ips ?? []).map(ip => ({ ip }))`,
    );
    const reset = w.then(split, talos('Reset Cluster Node', 'machine', 'reset', { graceful: false, reboot: false, wipeMode: 'ALL', node: expr('$json.ip'), timeout: 60, ...RESET_WAIT }, continueOnError));
    finishRollback(w, w.collect(reset, 'Cluster Nodes Reset', 'reset'), 'bootstrap-cluster-rollback', 'reset');
  }
  {
    const split = w.items(w.start('restore-cluster-rollback', noOp('Keep DR Site Passive')), 'DR Workloads to Stop', `${P}.critical_workloads`);
    const scaled = w.then(
      split,
      talos(
        'Scale Down DR Workload',
        'kubernetes',
        'scale',
        { scaleKind: expr("$json.kind === 'StatefulSet' ? 'StatefulSet' : 'Deployment'"), name: expr('$json.name'), namespace: expr('$json.namespace'), replicas: 0, node: expr(`${P}.dr_bootstrap_node_ip`) },
        { cred: 'talosDr', ...continueOnError },
      ),
    );
    finishRollback(w, w.collect(scaled, 'DR Workloads Stopped', 'scaled'), 'restore-cluster-rollback', 'scaled');
  }
  {
    const restored = w.then(
      w.start(
        'deploy-canary-rollback',
        talos(
          'Remove Canary',
          'kubernetes',
          'scale',
          { scaleKind: 'Deployment', name: expr(`${P}.app_name + '-canary'`), namespace: expr(`${P}.namespace`), replicas: 0, node: '' },
          continueOnError,
        ),
      ),
      release('Restore Previous Release', `${P}.app_name`, `${P}.previous_image_tag`, 'stable', 600),
    );
    w.result(restored, 'deploy-canary-rollback', `({ restored_tag: ${P}.previous_image_tag })`);
  }
  {
    const split = w.items(w.start('rejoin-cluster-rollback', noOp('Withdraw Replacements')), 'Replacements to Reset', `(${H}.replacement_ips ?? []).map(ip => ({ ip }))`);
    const reset = w.then(split, talos('Reset Replacement', 'machine', 'reset', { graceful: true, reboot: false, wipeMode: 'ALL', node: expr('$json.ip'), timeout: 60, ...RESET_WAIT }, continueOnError));
    finishRollback(w, w.collect(reset, 'Replacements Reset', 'reset'), 'rejoin-cluster-rollback', 'reset');
  }
  return b;
}
