// The five seed workflows, orchestrated by the n8n-contractor (see orchestration.ts for the shape).

import type { WorkflowBuilder } from './builder.ts';
import { failureNode, loadDefinition, manualTrigger, buildOrchestrator, PARAMS, phaseOutput, RUN_ID, type InlineResult } from './orchestration.ts';
import { approvalGate, expr, hmacOfRawBody, http, ifTrue, noOp, onErrorOutput, respond, set, switchOn, tmpl, wait, webhook } from './nodes.ts';

const hook = (name: string, path: string) => webhook(name, path);
const retry = { ...onErrorOutput, retryOnFail: true, maxTries: 5, waitBetweenTries: 5000 };

/** An If-false (or Switch) outcome as a phase failure with a code and a message. */
function failWith(b: WorkflowBuilder, from: string, output: number, phaseId: string, name: string, code: string, messageCode: string): void {
  const node = b.add(set(name, [['error', 'object', expr(`({ code: '${code}', message: ${messageCode} })`)]]));
  b.connect(from, node, output);
  b.connect(node, failureNode(b, phaseId));
}

/** Nodes after `from` in a chain; returns the last and the error outputs of nodes that have one. */
function chain(b: WorkflowBuilder, from: string, specs: Parameters<WorkflowBuilder['add']>[0][]): InlineResult {
  let previous = from;
  const failures: Array<[string, number]> = [];
  for (const spec of specs) {
    const name = b.add(spec);
    b.connect(previous, name);
    if (spec.onError === 'continueErrorOutput') failures.push([name, 1]);
    previous = name;
  }
  return { last: previous, failures };
}

const startPhase = (phaseId: string) => `$('Start Phase: ${phaseId}').first().json`;

const COMMON_NOTE = `Start it with **POST /webhook/workflow-trigger** \`{"workflow_id", "parameters"}\` (the *Cortex: workflow trigger* template forwards it here) or directly with **POST /webhook/cortex/<workflow_id>** \`{"parameters"}\`; header auth: credential **Cortex webhook token**. Missing parameters: 400; a run already holding the concurrency key: 409; otherwise **202 {run_id}** at once, and the run goes on. Fill the **Settings** node with this environment's defaults.

Phases of other contractors are handed off (Handoff: Create → Wait for Completion) to the *Cortex: infrastructure-contractor worker* and *Cortex: talos-contractor worker* templates; every failure fails the phase, the service writes the rollback plan and its steps are handed to their contractors. Credentials: **Cortex (n8n-contractor)**, **Cortex webhook token**.`;

// ============================================================================ deploy-monitoring-stack

export function deployMonitoringStack(): WorkflowBuilder {
  const definition = loadDefinition('deploy-monitoring-stack');
  return buildOrchestrator({
    definition,
    meta: { id: 'CortexMonitoring1', name: 'Cortex: Deploy Monitoring Stack', file: 'deploy-monitoring-stack.json' },
    triggers: (b) => ({ entries: [manualTrigger(b, definition.workflow_id, hook)] }),
    defaults: {
      environment: 'production',
      cluster_name: '',
      proxmox_node: '',
      storage: 'local-lvm',
      talos_template_vmid: '',
      monitoring_node_ips: [],
      prefix_length: 24,
      gateway: '',
      nameserver: '',
      chart_version: '',
      talos_config_dir: '/home/node/.n8n-files/talos',
      n8n_alert_webhook_url: '',
    },
    required: [
      'environment', 'cluster_name', 'proxmox_node', 'storage', 'talos_template_vmid', 'monitoring_node_ips', 'gateway', 'nameserver', 'talos_config_dir', 'n8n_alert_webhook_url',
    ],
    concurrencyKey: "'monitoring:' + $json.parameters.cluster_name",
    inline: {
      'configure-alerting': (b, start) => {
        const stack = phaseOutput(startPhase('configure-alerting'), 'install-stack');
        const first = chain(b, start, [
          noOp('Register Monitoring', 'Add the stack to your inventory / CMDB (register_monitoring)'),
          http('Read Alertmanager Config', tmpl(`{{ ${stack}.alertmanager_url }}/api/v2/status`), {}, retry),
        ]);
        const routed = b.add(ifTrue('Alerts Routed to n8n?', `String($json.config?.original ?? '').includes(${PARAMS}.n8n_alert_webhook_url)`));
        b.connect(first.last, routed);
        failWith(b, routed, 1, 'configure-alerting', 'Alert Routing Missing', 'alert_routing_missing', `'Alertmanager does not route to ' + ${PARAMS}.n8n_alert_webhook_url`);
        const rest = chain(b, routed, [
          noOp('Import Dashboards', 'kube-prometheus-stack ships the Kubernetes and node-exporter dashboards; import talos-nodes with a Grafana API call here'),
          http('Check Prometheus', tmpl(`{{ ${stack}.prometheus_url }}/-/ready`), { text: true }, retry),
          http('Check Alertmanager', tmpl(`{{ ${stack}.alertmanager_url }}/-/ready`), { text: true }, retry),
          http('Check Grafana', tmpl(`{{ ${stack}.grafana_url }}/api/health`), {}, retry),
          http(
            'Send Test Alert',
            tmpl(`{{ ${stack}.alertmanager_url }}/api/v2/alerts`),
            {
              method: 'POST',
              jsonBody: expr(
                `JSON.stringify([{ labels: { alertname: 'CortexTestAlert', severity: 'info', cluster: ${PARAMS}.cluster_name }, annotations: { summary: 'Cortex deploy-monitoring-stack test alert' } }])`,
              ),
            },
            { onError: 'continueRegularOutput' },
          ),
          noOp('Notify Ops', 'Monitoring stack is live: post to #ops with your Slack / e-mail node'),
        ]);
        return { last: rest.last, failures: [...first.failures, ...rest.failures.filter(([n]) => n !== 'Send Test Alert')] };
      },
    },
    phaseOutputs: {
      'configure-alerting': `Object.assign({}, ${phaseOutput(startPhase('configure-alerting'), 'install-stack')}, { test_alert_sent: !$('Send Test Alert').first().json.error })`,
    },
    note: `## Cortex: Deploy Monitoring Stack\n\nRuns the \`deploy-monitoring-stack\` definition: two monitoring VMs cloned from the Talos template (infrastructure-contractor), joined to the cluster and kube-prometheus-stack installed through Flux with its Alertmanager routing to n8n (talos-contractor), then n8n checks routing, Prometheus, Alertmanager and Grafana and sends a test alert.\n\n${COMMON_NOTE}`,
  });
}

// ============================================================================ build-k8s-cluster

export function buildK8sCluster(): WorkflowBuilder {
  const definition = loadDefinition('build-k8s-cluster');
  return buildOrchestrator({
    definition,
    meta: { id: 'CortexBuildK8s001', name: 'Cortex: Build New K8s Cluster', file: 'build-k8s-cluster.json' },
    triggers: (b) => ({ entries: [manualTrigger(b, definition.workflow_id, hook)] }),
    defaults: {
      environment: 'production',
      cluster_name: '',
      proxmox_node: '',
      storage: 'local-lvm',
      talos_template_vmid: '',
      control_plane_ips: [],
      worker_ips: [],
      control_plane_vip: '',
      prefix_length: 24,
      gateway: '',
      nameserver: '',
      talos_config_dir: '/home/node/.n8n-files/talos',
      backup_dir: '/home/node/.n8n-files/backups',
      flux_version: '2.4.0',
      metrics_server_chart_version: '',
    },
    required: [
      'environment', 'cluster_name', 'proxmox_node', 'storage', 'talos_template_vmid', 'control_plane_ips', 'worker_ips', 'control_plane_vip', 'gateway', 'nameserver', 'talos_config_dir', 'backup_dir', 'flux_version',
    ],
    concurrencyKey: "'cluster:' + $json.parameters.cluster_name",
    inline: {
      'register-cluster': (b, start) => {
        const built = phaseOutput(startPhase('register-cluster'), 'bootstrap-cluster');
        return chain(b, start, [
          noOp('Register Cluster Monitoring', 'Add the cluster to your monitoring (or run Deploy Monitoring Stack for it)'),
          noOp('Schedule etcd Backups', 'Import and publish the "Cortex: etcd backup" template (backup-etcd-snapshot, 0 2 * * * UTC) with this cluster\'s settings'),
          http('Check Cluster API', tmpl(`{{ ${built}.cluster_endpoint }}/readyz`), { text: true, insecure: true }, retry),
          noOp('Notify Platform', 'Cluster ready: post to #platform with your Slack / e-mail node'),
        ]);
      },
    },
    phaseOutputs: {
      'register-cluster': `({ cluster_endpoint: ${phaseOutput(startPhase('register-cluster'), 'bootstrap-cluster')}.cluster_endpoint, api_ready: true })`,
    },
    note: `## Cortex: Build New K8s Cluster\n\nRuns the \`build-k8s-cluster\` definition: control-plane and worker VMs cloned from the Talos template with cloud-init addresses (infrastructure-contractor); machine configs applied in maintenance mode, etcd bootstrapped once, health, kubeconfig, Flux and metrics-server, a first etcd snapshot (talos-contractor); the API checked (n8n). Generate the configs first: \`talosctl gen config <cluster> https://<vip>:6443\` into \`talos_config_dir\`, and put the talosconfig into the **Talos cluster** credential.\n\n${COMMON_NOTE}`,
  });
}

// ============================================================================ dr-failover

export function drFailover(): WorkflowBuilder {
  const definition = loadDefinition('dr-failover');
  return buildOrchestrator({
    definition,
    meta: { id: 'CortexDrFailover1', name: 'Cortex: Disaster Recovery Failover', file: 'dr-failover.json' },
    triggers: (b) => {
      const manual = manualTrigger(b, definition.workflow_id, hook);
      const alert = b.add(webhook('Prometheus Alert', 'prometheus-alert'));
      const firing = b.add(
        ifTrue(
          'Failover Alert Firing?',
          "$json.body?.status === 'firing' && ($json.body?.alerts ?? []).some(a => a.status === 'firing' && a.labels?.alertname === 'PrimarySiteDown')",
        ),
      );
      const ignored = b.add(respond('Respond: Alert Ignored', 200, expr("({ ignored: true, reason: 'no firing PrimarySiteDown alert' })")));
      const given = b.add(
        set('Alert Parameters', [
          [
            'given',
            'object',
            expr(
              "(a => ({ reason: 'Prometheus alert ' + a.labels.alertname + (a.annotations?.summary ? ': ' + a.annotations.summary : ''), alert_fingerprint: a.fingerprint ?? null, triggered_by: 'prometheus' }))" +
                "($json.body.alerts.find(a => a.status === 'firing' && a.labels?.alertname === 'PrimarySiteDown'))",
            ),
          ],
        ]),
      );
      b.chain(alert, firing, given);
      b.connect(firing, ignored, 1);
      return { entries: [manual, given] };
    },
    defaults: {
      environment: 'production',
      cluster_name: '',
      primary_site: 'primary',
      dr_site: 'dr',
      public_hostname: '',
      primary_proxmox_node: '',
      primary_vmids: [],
      dr_proxmox_node: '',
      dr_vmids: [],
      dr_control_plane_ips: [],
      dr_worker_ips: [],
      dr_bootstrap_node_ip: '',
      dr_control_plane_vip: '',
      dr_ingress_ip: '',
      critical_workloads: [],
      talos_config_dir: '/home/node/.n8n-files/talos',
      reason: 'manual failover',
    },
    required: [
      'environment', 'cluster_name', 'primary_site', 'dr_site', 'public_hostname', 'primary_proxmox_node', 'primary_vmids', 'dr_proxmox_node', 'dr_vmids',
      'dr_control_plane_ips', 'dr_bootstrap_node_ip', 'dr_control_plane_vip', 'dr_ingress_ip', 'critical_workloads', 'talos_config_dir', 'reason',
    ],
    concurrencyKey: "'dr-failover:' + $json.parameters.environment",
    inline: {
      'declare-failover': (b, start) => {
        const assessed = chain(b, start, [
          http('Assess Primary Site', tmpl(`https://{{ ${PARAMS}.public_hostname }}/healthz`), { full: true, timeoutMs: 10_000 }, { onError: 'continueRegularOutput' }),
          set('Primary Site Status', [['primary_site_status', 'string', expr("$json.error ? 'unreachable: ' + $json.error : 'HTTP ' + $json.statusCode")]]),
        ]);
        const gate = b.add(
          approvalGate('Approve Failover', {
            title: tmpl(`Fail {{ ${PARAMS}.environment }} over to {{ ${PARAMS}.dr_site }}`),
            description: tmpl(
              `**Reason:** {{ ${PARAMS}.reason }}\n\n**Primary site health:** {{ $json.primary_site_status }}\n\nApproving fences the primary VMs, starts the warm standby at **{{ ${PARAMS}.dr_site }}**, recovers the cluster there and moves **{{ ${PARAMS}.public_hostname }}** to it.`,
            ),
            approvers: 'group:sre-oncall, group:incident-commander',
            required: 1,
            deadlineMinutes: 5,
            approvalId: tmpl(`{{ ${RUN_ID} }}-approve-failover`),
          }),
        );
        b.connect(assessed.last, gate);
        const announce = b.add(noOp('Announce Failover', 'DR failover approved and starting: post to #incidents'));
        b.connect(gate, announce, 0);
        return { last: announce, failures: [[gate, 1], [gate, 2]] };
      },
      'switch-traffic': (b, start) =>
        chain(b, start, [
          noOp('Point DNS at DR', 'Set the A record of the public hostname to the DR ingress (restore-cluster output dr_ingress_ip), TTL 60: your DNS provider node (Cloudflare, Route 53, …) goes here'),
          http('Verify Public Endpoint', tmpl(`https://{{ ${PARAMS}.public_hostname }}/healthz`), { timeoutMs: 10_000 }, retry),
          noOp('Monitor DR Site', 'Register the DR cluster with your monitoring'),
          noOp('Open Failback Ticket', 'Create the OPS failback task with your ticketing node'),
          noOp('Announce Failover Complete', 'Post to #incidents: now served from the DR site'),
        ]),
    },
    phaseOutputs: {
      'declare-failover': "({ primary_site_status: $('Primary Site Status').first().json.primary_site_status, approved_by: $('Approve Failover').first().json.approved_by })",
      'switch-traffic': `({ public_hostname: ${PARAMS}.public_hostname, dr_ingress_ip: ${phaseOutput(startPhase('switch-traffic'), 'restore-cluster')}.dr_ingress_ip })`,
    },
    note: `## Cortex: Disaster Recovery Failover\n\nRuns the \`dr-failover\` definition: n8n asks on-call to approve (**Approval Gate**, 5 minutes), infrastructure-contractor fences the primary VMs and starts the warm standby at the DR site, talos-contractor brings the DR cluster up and waits for the critical workloads, n8n moves DNS and checks the public endpoint. Also starts on an Alertmanager webhook (**POST /webhook/prometheus-alert**) when \`PrimarySiteDown\` fires.\n\n${COMMON_NOTE}`,
  });
}

// ============================================================================ app-deployment-pipeline

export function appDeploymentPipeline(): WorkflowBuilder {
  const definition = loadDefinition('app-deployment-pipeline');
  return buildOrchestrator({
    definition,
    meta: { id: 'CortexAppDeploy01', name: 'Cortex: Application Deployment Pipeline', file: 'app-deployment-pipeline.json' },
    triggers: (b) => {
      const manual = manualTrigger(b, definition.workflow_id, hook);
      const push = b.add(webhook('GitHub Push', 'github-push', { auth: 'none', rawBody: true }));
      const signed = b.add(hmacOfRawBody('Sign Body', 'signature'));
      const valid = b.add(ifTrue('Valid Signature?', "'sha256=' + $json.signature === ($json.headers['x-hub-signature-256'] ?? '')"));
      const badSignature = b.add(respond('Respond: Bad Signature', 401, expr("({ error: { code: 'invalid_signature', message: 'X-Hub-Signature-256 does not match the body' } })")));
      const toMain = b.add(
        ifTrue('Push to Main?', "$json.headers['x-github-event'] === 'push' && $json.body?.ref === 'refs/heads/main' && !$json.body?.deleted"),
      );
      const ignored = b.add(respond('Respond: Push Ignored', 200, expr("({ ignored: true, event: $json.headers['x-github-event'], ref: $json.body?.ref ?? null })")));
      const given = b.add(
        set('Push Parameters', [
          [
            'given',
            'object',
            expr('({ repository: $json.body.repository.full_name, app_name: $json.body.repository.name, commit_sha: $json.body.after, pushed_by: $json.body.pusher?.name ?? null })'),
          ],
        ]),
      );
      b.chain(push, signed, valid, toMain, given);
      b.connect(valid, badSignature, 1);
      b.connect(toMain, ignored, 1);
      return { entries: [manual, given] };
    },
    defaults: {
      environment: 'production',
      required_checks: ['build', 'unit-tests', 'integration-tests'],
      github_api_url: 'https://api.github.com',
      ci_poll_seconds: 30,
      observe_seconds: 300,
      image_repository: '',
      namespace: '',
      chart: '',
      chart_repository: '',
      chart_version: '',
      canary_url: '',
      public_url: '',
      prometheus_url: '',
      proxmox_node: '',
      edge_lb_vmid: '',
      service_node_ports: [],
    },
    required: [
      'repository', 'commit_sha', 'app_name', 'environment', 'image_repository', 'namespace', 'chart', 'chart_repository', 'canary_url', 'public_url', 'prometheus_url', 'proxmox_node', 'edge_lb_vmid',
    ],
    concurrencyKey: "'deploy:' + $json.parameters.app_name + ':' + $json.parameters.environment",
    inline: {
      'build-and-approve': (b, start) => {
        const checks = b.add(
          http(
            'Get Check Runs',
            tmpl(`{{ ${PARAMS}.github_api_url }}/repos/{{ ${PARAMS}.repository }}/commits/{{ ${PARAMS}.commit_sha }}/check-runs`),
            { query: [['per_page', '100']], credential: { kind: 'github' } },
            { ...onErrorOutput, retryOnFail: true, maxTries: 3, waitBetweenTries: 5000 },
          ),
        );
        b.connect(start, checks);
        const required = `(${PARAMS}.required_checks ?? [])`;
        const state = b.add(
          set('CI State', [
            [
              'state',
              'string',
              expr(
                `($json.check_runs ?? []).some(c => ${required}.includes(c.name) && c.status === 'completed' && !['success', 'neutral', 'skipped'].includes(c.conclusion)) ? 'failure' : ` +
                  `(${required}.every(n => ($json.check_runs ?? []).some(c => c.name === n && c.status === 'completed' && c.conclusion === 'success')) ? 'success' : 'pending')`,
              ),
            ],
            ['failed_checks', 'array', expr(`($json.check_runs ?? []).filter(c => c.status === 'completed' && !['success', 'neutral', 'skipped'].includes(c.conclusion)).map(c => c.name + ': ' + c.conclusion)`)],
          ]),
        );
        const result = b.add(switchOn('CI Result', '$json.state', ['success', 'failure', 'pending'], 'Unexpected'));
        b.chain(checks, state, result);
        // At most 900 s (the action's timeout) of polling, every ci_poll_seconds.
        const keepWaiting = b.add(ifTrue('Keep Waiting for CI?', `($runIndex + 1) * Number(${PARAMS}.ci_poll_seconds) < 900`));
        const pause = b.add(wait('Wait for CI', expr(`Number(${PARAMS}.ci_poll_seconds)`), 'seconds'));
        b.connect(result, keepWaiting, 2);
        b.chain(keepWaiting, pause, checks);
        failWith(b, keepWaiting, 1, 'build-and-approve', 'CI Timed Out', 'ci_timeout', `'CI checks not green within 900 s: ' + ${required}.join(', ')`);
        failWith(b, result, 1, 'build-and-approve', 'CI Failed', 'ci_failed', "'CI checks failed: ' + $json.failed_checks.join(', ')");
        failWith(b, result, 3, 'build-and-approve', 'CI State Unknown', 'ci_state_unknown', "'unexpected CI state ' + $json.state");
        const scan = b.add(noOp('Scan Image', 'Scan the image for critical vulnerabilities (Trivy server, registry scanner): fail the phase on a critical finding'));
        b.connect(result, scan, 0);
        const gate = b.add(
          approvalGate('Approve Release', {
            title: tmpl(`Deploy {{ ${PARAMS}.app_name }} {{ ${PARAMS}.commit_sha.slice(0, 12) }} to {{ ${PARAMS}.environment }}`),
            description: tmpl(
              `Checks passed ({{ ${required}.join(', ') }}); image scan found no critical vulnerabilities.\n\n- **Repository:** {{ ${PARAMS}.repository }}\n- **Commit:** \`{{ ${PARAMS}.commit_sha }}\`\n- **Image:** \`{{ ${PARAMS}.image_repository }}:{{ ${PARAMS}.image_tag ?? ${PARAMS}.commit_sha }}\`\n- **Pushed by:** {{ ${PARAMS}.pushed_by ?? 'n/a' }}`,
            ),
            approvers: 'group:release-managers, group:app-owners, group:sre-oncall',
            required: 2,
            deadlineMinutes: 60,
            approvalId: tmpl(`{{ ${RUN_ID} }}-approve-release`),
          }),
        );
        b.connect(scan, gate);
        return { last: gate, failures: [[checks, 1], [gate, 1], [gate, 2]] };
      },
      'verify-release': (b, start) => {
        const traffic = phaseOutput(startPhase('verify-release'), 'shift-traffic');
        const observed = chain(b, start, [
          http('Verify Public Endpoint', tmpl(`{{ ${traffic}.public_url }}/healthz`), { timeoutMs: 10_000 }, retry),
          wait('Observe Error Rate', expr(`Number(${PARAMS}.observe_seconds)`), 'seconds'),
          http(
            'Query Error Rate',
            tmpl(`{{ ${PARAMS}.prometheus_url }}/api/v1/query`),
            {
              query: [
                [
                  'query',
                  expr(
                    `'sum(rate(http_requests_total{app="' + ${PARAMS}.app_name + '",code=~"5.."}[' + ${PARAMS}.observe_seconds + 's])) / sum(rate(http_requests_total{app="' + ${PARAMS}.app_name + '"}[' + ${PARAMS}.observe_seconds + 's]))'`,
                  ),
                ],
              ],
            },
            retry,
          ),
        ]);
        const ok = b.add(ifTrue('Error Rate Below 1%?', 'Number($json.data?.result?.[0]?.value?.[1] ?? 0) <= 0.01'));
        b.connect(observed.last, ok);
        failWith(b, ok, 1, 'verify-release', 'Error Rate Too High', 'error_rate_too_high', `'5xx ratio ' + $json.data.result[0].value[1] + ' over the last ' + ${PARAMS}.observe_seconds + ' s (limit 0.01)'`);
        const notify = b.add(noOp('Notify Deployments', 'Release is live: post to #deployments'));
        b.connect(ok, notify, 0);
        return { last: notify, failures: observed.failures };
      },
    },
    phaseOutputs: {
      'build-and-approve': `({ image: ${PARAMS}.image_repository + ':' + (${PARAMS}.image_tag ?? ${PARAMS}.commit_sha), image_tag: ${PARAMS}.image_tag ?? ${PARAMS}.commit_sha, image_digest: ${PARAMS}.image_digest ?? null, approved_by: $('Approve Release').first().json.approved_by })`,
      'verify-release': `({ public_url: ${phaseOutput(startPhase('verify-release'), 'shift-traffic')}.public_url, error_rate: Number($('Query Error Rate').first().json.data?.result?.[0]?.value?.[1] ?? 0) })`,
    },
    note: `## Cortex: Application Deployment Pipeline\n\nRuns the \`app-deployment-pipeline\` definition: n8n waits for the commit's GitHub checks and asks for **two approvals** (Approval Gate), talos-contractor rolls out a canary through Flux, smoke-tests and promotes it, infrastructure-contractor snapshots the edge load-balancer VM before traffic moves, n8n watches the 5xx ratio for five minutes. Also starts on a GitHub **push to main** (**POST /webhook/github-push**, the X-Hub-Signature-256 checked with the **GitHub webhook secret** credential). Credentials also: **GitHub API** (checks).\n\n${COMMON_NOTE}`,
  });
}

// ============================================================================ security-incident-response

export function securityIncidentResponse(): WorkflowBuilder {
  const definition = loadDefinition('security-incident-response');
  const incidentId = "'inc-' + $now.toUTC().toFormat('yyyyMMdd-HHmmss')";
  return buildOrchestrator({
    definition,
    meta: { id: 'CortexSecIncident', name: 'Cortex: Security Incident Response', file: 'security-incident-response.json' },
    triggers: (b) => {
      const manual = manualTrigger(b, definition.workflow_id, hook, `Object.assign({ incident_id: ${incidentId}, alert_source: 'manual' }, $json.body?.parameters ?? {})`);
      const alert = b.add(webhook('Security Alert', 'security-alert'));
      const critical = b.add(ifTrue('Critical?', "String($json.body?.priority ?? $json.body?.severity ?? '').toLowerCase() === 'critical'"));
      const ignored = b.add(
        respond('Respond: Alert Ignored', 200, expr("({ ignored: true, reason: 'severity ' + ($json.body?.priority ?? $json.body?.severity ?? 'unknown') + ' is not critical' })")),
      );
      const given = b.add(
        set('Alert Parameters', [
          [
            'given',
            'object',
            expr(
              `({ incident_id: ${incidentId}, alert_source: 'falco' + ($json.body.source ? '/' + $json.body.source : ''), alert_id: $json.body.uuid ?? $json.body.time ?? null, ` +
                "alert_rule: $json.body.rule ?? 'unknown rule', severity: 'critical', alert_output: $json.body.output ?? '', " +
                "affected_node: $json.body.output_fields?.['k8s.node.name'] ?? $json.body.hostname ?? null, " +
                "affected_pod: $json.body.output_fields?.['k8s.pod.name'] ? $json.body.output_fields['k8s.ns.name'] + '/' + $json.body.output_fields['k8s.pod.name'] : null })",
            ),
          ],
        ]),
      );
      b.chain(alert, critical, given);
      b.connect(critical, ignored, 1);
      return { entries: [manual, given] };
    },
    defaults: {
      cluster_name: '',
      severity: 'critical',
      alert_rule: 'manual',
      proxmox_node: '',
      storage: 'local-lvm',
      talos_template_vmid: '',
      healthy_control_plane_ip: '',
      control_plane_vip: '',
      quarantine_bridge: 'vmbr0',
      quarantine_vlan: 999,
      replacement_ips: [],
      prefix_length: 24,
      gateway: '',
      nameserver: '',
      talos_config_dir: '/home/node/.n8n-files/talos',
      evidence_dir: '/home/node/.n8n-files/evidence',
      backup_dir: '/home/node/.n8n-files/backups',
    },
    required: [
      'cluster_name', 'incident_id', 'alert_rule', 'proxmox_node', 'healthy_control_plane_ip', 'control_plane_vip', 'quarantine_bridge', 'quarantine_vlan', 'talos_config_dir', 'evidence_dir', 'backup_dir',
    ],
    concurrencyKey: "'incident:' + $json.parameters.cluster_name + ':' + ($json.parameters.affected_node ?? $json.parameters.alert_rule)",
    inline: {
      triage: (b, start) =>
        chain(b, start, [
          set('Enrich Alert', [
            [
              'alert_context',
              'object',
              expr(
                `({ source: ${PARAMS}.alert_source, alert_id: ${PARAMS}.alert_id ?? null, rule: ${PARAMS}.alert_rule, output: ${PARAMS}.alert_output ?? null, node: ${PARAMS}.affected_node ?? null, pod: ${PARAMS}.affected_pod ?? null, cluster: ${PARAMS}.cluster_name })`,
              ),
            ],
          ]),
          noOp('Open Incident', 'Create the SEC incident ticket with your ticketing node (Jira, …); its key becomes ticket_id'),
          noOp('Page Security', 'Page #security-oncall (PagerDuty, Slack, …)'),
        ]),
      'close-out': (b, start) => {
        const rejoined = phaseOutput(startPhase('close-out'), 'rejoin-cluster');
        return chain(b, start, [
          http('Verify Cluster API', tmpl(`{{ ${rejoined}.cluster_endpoint }}/readyz`), { text: true, insecure: true }, retry),
          noOp('Update Incident', 'Resolve the incident ticket with what was contained and replaced'),
          noOp('Schedule Post-mortem', 'Book the post-mortem within 72h (security-leads, platform-leads)'),
          noOp('Notify Security On-call', 'Incident resolved: post to #security-oncall'),
        ]);
      },
    },
    afterHandoff: {
      assess: (b, waited) => {
        const gate = b.add(
          approvalGate('Approve Containment', {
            title: tmpl(`Contain {{ ($json.result?.nodes_to_contain ?? []).length }} node(s) on {{ ${PARAMS}.cluster_name }}`),
            description: tmpl(
              `**Incident:** {{ ${PARAMS}.incident_id }} ({{ ${PARAMS}.alert_rule }})\n\n**Classification:** {{ $json.result?.classification ?? 'n/a' }}\n\n**Nodes:** {{ ($json.result?.nodes_to_contain ?? []).join(', ') }}\n\nContainment cordons, drains and network-isolates the nodes and quarantines their VMs. It is never rolled back.`,
            ),
            approvers: 'group:security-leads, group:incident-commander',
            required: 1,
            deadlineMinutes: 15,
            approvalId: tmpl(`{{ ${RUN_ID} }}-approve-containment`),
          }),
        );
        b.connect(waited, gate, 0);
        return { last: gate, failures: [[gate, 1], [gate, 2]] };
      },
      'eradication-plan': (b, waited) => {
        const gate = b.add(
          approvalGate('Approve Node Replacement', {
            title: tmpl(`Replace quarantined nodes on {{ ${PARAMS}.cluster_name }}`),
            description: tmpl(
              `**Incident:** {{ ${PARAMS}.incident_id }}\n\n**Findings:** {{ $json.result?.findings_summary ?? 'n/a' }}\n\n**Retire:** {{ ($json.result?.nodes_to_retire ?? []).join(', ') }}; **replacements:** {{ $json.result?.replacement_count ?? 0 }} from template {{ $json.result?.hardened_template_vmid ?? ${PARAMS}.talos_template_vmid }}`,
            ),
            approvers: 'group:security-leads, group:platform-leads, group:incident-commander',
            required: 2,
            deadlineMinutes: 60,
            approvalId: tmpl(`{{ ${RUN_ID} }}-approve-node-replacement`),
          }),
        );
        b.connect(waited, gate, 0);
        return { last: gate, failures: [[gate, 1], [gate, 2]] };
      },
    },
    phaseOutputs: {
      triage: `({ ticket_id: ${PARAMS}.ticket_id ?? ${PARAMS}.incident_id, alert_context: $('Enrich Alert').first().json.alert_context, affected_nodes: ${PARAMS}.affected_node ? [${PARAMS}.affected_node] : (${PARAMS}.affected_nodes ?? []), affected_pods: ${PARAMS}.affected_pod ? [${PARAMS}.affected_pod] : (${PARAMS}.affected_pods ?? []) })`,
      assess: "Object.assign({}, $('Wait: assess').first().json.result ?? {}, { approved_by: $('Approve Containment').first().json.approved_by })",
      'eradication-plan': "Object.assign({}, $('Wait: eradication-plan').first().json.result ?? {}, { approved_by: $('Approve Node Replacement').first().json.approved_by })",
      'close-out': `({ resolved: true, retired_nodes: ${phaseOutput(startPhase('close-out'), 'rejoin-cluster')}.retired_nodes ?? [], replacement_ips: ${phaseOutput(startPhase('close-out'), 'rejoin-cluster')}.replacement_ips ?? [] })`,
    },
    note: `## Cortex: Security Incident Response\n\nRuns the \`security-incident-response\` definition. Starts on a Falco alert (**POST /webhook/security-alert**, falcosidekick's webhook output with a custom header) when its priority is **critical** (others: 200, ignored). n8n triages; **security-master** assesses (a handoff its own tooling claims and completes with \`classification\`, \`nodes_to_contain\`, \`namespaces_to_isolate\`) and containment is approved (Approval Gate); talos-contractor isolates namespaces, cordons, preserves etcd and drains; infrastructure-contractor snapshots and quarantines the VMs; security-master plans eradication (\`replacement_count\`, \`replacement_roles\`, \`hardened_template_vmid\`, \`nodes_to_retire\`), two approvers allow node replacement; replacements are cloned and joined; n8n closes out. Containment is never rolled back.\n\n${COMMON_NOTE}`,
  });
}
