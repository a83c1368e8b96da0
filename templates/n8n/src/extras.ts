// The seed's manual trigger (one URL for every workflow) and its scheduled etcd backup.

import { WorkflowBuilder } from './builder.ts';
import { expr, http, ifTrue, respond, scheduleCron, set, sticky, talos, tmpl, webhook, writeFile } from './nodes.ts';

export const SEED_WORKFLOWS = ['deploy-monitoring-stack', 'build-k8s-cluster', 'dr-failover', 'app-deployment-pipeline', 'security-incident-response'];

/**
 * POST /webhook/workflow-trigger {workflow_id, parameters}: n8n serves one workflow per webhook
 * path, so this one forwards the request to the chosen workflow's own webhook
 * (/webhook/cortex/<workflow_id>) and answers with that workflow's answer (202 with the run_id,
 * 400 missing parameters, 409 not started).
 */
export function workflowTrigger(): WorkflowBuilder {
  const b = new WorkflowBuilder({ id: 'CortexWfTrigger01', name: 'Cortex: workflow trigger', file: 'workflow-trigger.json' });
  b.add(
    sticky(
      'Note',
      `## Cortex: workflow trigger\n\nThe seed's manual trigger: **POST /webhook/workflow-trigger** with \`{"workflow_id": "deploy-monitoring-stack", "parameters": {…}}\` and the header of the **Cortex webhook token** credential. Known workflow ids are forwarded to \`/webhook/cortex/<workflow_id>\` (the workflow templates), and their answer is returned: **202 {run_id}**, 400 (missing parameters), 409 (not started). Unknown id: 404.\n\nSet **Settings → n8n_webhook_base** to this n8n's webhook base URL (N8N_WEBHOOK_URL + \`webhook/\`).`,
      640,
      320,
    ),
    [-40, -420],
  );
  const hook = b.add(webhook('Workflow Trigger', 'workflow-trigger'));
  const settings = b.add(
    set('Settings', [['n8n_webhook_base', 'string', 'http://127.0.0.1:5678/webhook/']], { keepOthers: true }),
  );
  const known = b.add(ifTrue('Known Workflow?', `${JSON.stringify(SEED_WORKFLOWS).replace(/"/g, "'")}.includes($json.body?.workflow_id)`));
  const forward = b.add(
    http(
      'Forward to Workflow',
      tmpl('{{ $json.n8n_webhook_base.replace(/\\/?$/, \'/\') }}cortex/{{ $json.body.workflow_id }}'),
      {
        method: 'POST',
        jsonBody: expr('JSON.stringify({ workflow_id: $json.body.workflow_id, parameters: $json.body.parameters ?? {} })'),
        full: true,
        timeoutMs: 30_000,
        credential: { kind: 'header' },
      },
    ),
  );
  const answer = b.add(respond('Respond: Workflow Answer', expr('$json.statusCode'), expr('$json.body')));
  const unknown = b.add(
    respond(
      'Respond: Unknown Workflow',
      404,
      expr(`({ error: { code: 'unknown_workflow', message: 'no template for workflow_id ' + ($json.body?.workflow_id ?? '(none)'), known: ${JSON.stringify(SEED_WORKFLOWS).replace(/"/g, "'")} } })`),
    ),
  );
  b.chain(hook, settings, known, forward, answer);
  b.connect(known, unknown, 1);
  return b;
}

/** The seed's scheduled workflow backup-etcd-snapshot: 0 2 * * * UTC, a Talos etcd snapshot written to disk (dated and latest). */
export function etcdBackup(): WorkflowBuilder {
  const b = new WorkflowBuilder({
    id: 'CortexEtcdBackup1',
    name: 'Cortex: etcd backup (backup-etcd-snapshot)',
    file: 'backup-etcd-snapshot.json',
    settings: { timezone: 'UTC' },
  });
  b.add(
    sticky(
      'Note',
      `## Cortex: etcd backup\n\nThe seed's scheduled workflow \`backup-etcd-snapshot\`: every day at **02:00 UTC** (cron \`0 2 * * *\`, workflow time zone UTC) the Talos node streams an etcd snapshot from a control plane (checked against etcd's sha256) and it is written to \`<backup_dir>/<cluster>-etcd-<time>.snapshot\` and \`<backup_dir>/<cluster>-latest.snapshot\` (the folder must exist).\n\n*Back Up Now* (or \`n8n execute --id=CortexEtcdBackup1\`) takes one at once. Credential: **Talos cluster**. Fill **Backup Settings**; n8n 2 writes files only under N8N_RESTRICT_FILE_ACCESS_TO (default ~/.n8n-files). Publish to schedule it; set an error workflow to hear about failures.`,
      640,
      320,
    ),
    [-40, -420],
  );
  const schedule = b.add(scheduleCron('Every Day 02:00 UTC', '0 2 * * *'));
  // A backup on demand: from the editor, or `n8n execute --id=CortexEtcdBackup1`.
  const now = b.add({ name: 'Back Up Now', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} });
  const settings = b.add(
    set('Backup Settings', [
      ['cluster_name', 'string', 'prod-k8s-01'],
      ['control_plane_ip', 'string', ''],
      ['backup_dir', 'string', '/home/node/.n8n-files/backups'],
      ['stamp', 'string', expr("$now.toUTC().toFormat('yyyyMMdd-HHmmss')")],
    ]),
  );
  const snapshot = b.add(
    talos('Take etcd Snapshot', 'etcd', 'snapshot', {
      binaryPropertyName: 'data',
      fileName: tmpl('etcd-{{ $json.stamp }}.snapshot'),
      verifyHash: true,
      node: expr('$json.control_plane_ip'),
      timeout: 60,
    }),
  );
  // Files named <cluster>-…: n8n writes into an existing folder but does not create one.
  const prefix = "$('Backup Settings').first().json.backup_dir + '/' + $('Backup Settings').first().json.cluster_name";
  const dated = b.add(writeFile('Write Dated Snapshot', expr(`${prefix} + '-etcd-' + $('Backup Settings').first().json.stamp + '.snapshot'`)));
  const latest = b.add(writeFile('Write Latest Snapshot', expr(`${prefix} + '-latest.snapshot'`)));
  const summary = b.add(
    set('Backup Summary', [
      ['cluster_name', 'string', expr("$('Backup Settings').first().json.cluster_name")],
      ['file', 'string', expr(`${prefix} + '-etcd-' + $('Backup Settings').first().json.stamp + '.snapshot'`)],
      ['size', 'number', expr("$('Take etcd Snapshot').first().json.size")],
      ['sha256', 'string', expr("$('Take etcd Snapshot').first().json.sha256")],
      ['from', 'string', expr("$('Take etcd Snapshot').first().json.hostname || $('Take etcd Snapshot').first().json.node")],
    ]),
  );
  b.chain(schedule, settings, snapshot, dated, summary);
  b.connect(now, settings);
  b.connect(snapshot, latest);
  return b;
}
