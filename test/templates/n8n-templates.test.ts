// The importable n8n workflow templates (templates/n8n/*.json), checked without running n8n:
//
// - each file is the generator's output (templates/n8n/src) and valid JSON in n8n's export shape;
// - every node type is ours (its parameters are checked against our node's description, with
//   displayOptions, option values, resource locator modes and required fields, as n8n's own
//   NodeHelpers read them) or one of the n8n-nodes-base types the templates may use; their
//   typeVersions and parameters against the installed n8n 2.41.1, and the output counts against
//   n8n's own, are checked in test/e2e/templates-n8n-base.e2e.test.ts (`npm run test:e2e`);
// - connections name existing nodes and existing outputs (Wait for Completion: 0 and 1; Approval
//   Gate: 0..2; Switch: its rules and fallback; +1 with an error output);
// - expressions compile with n8n's expression parser and name existing nodes;
// - each seed workflow's template starts a run of its definition's workflow_id and reports every
//   phase; the workers serve every phase of their contractor (and its rollback);
// - no secrets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { render } from '../../templates/n8n/src/generate.ts';
import { loadDefinition, type Definition } from '../../templates/n8n/src/orchestration.ts';
import {
  BASE_TYPES, expressionProblems, files, generated, loaded, OURS, outputCount, parameterProblems, SEED_FILES, strings, TRIGGER_TYPES, wf,
} from './template-checks.ts';

describe('n8n workflow templates', () => {
  it('are the generator\'s output, one file each, nothing else', () => {
    assert.deepEqual(files, generated.map((t) => t.file).sort());
    for (const template of generated) {
      assert.equal(loaded.get(template.file)?.text, render(template), `${template.file} differs from the generator: run node templates/n8n/src/generate.ts`);
    }
  });

  it('are workflow exports: name, nodes, connections, settings (v1 execution order), pinData, inactive', () => {
    for (const [file, { json }] of loaded) {
      assert.equal(typeof json.name, 'string', file);
      assert.ok(Array.isArray(json.nodes) && json.nodes.length > 0, file);
      assert.equal(typeof json.connections, 'object', file);
      assert.equal(json.settings.executionOrder, 'v1', file);
      assert.deepEqual(json.pinData, {}, file);
      assert.equal(json.active, false, file);
      const ids = new Set<string>();
      const names = new Set<string>();
      for (const node of json.nodes) {
        assert.equal(typeof node.id, 'string', `${file}: ${node.name}`);
        assert.ok(!ids.has(node.id), `${file}: duplicate id ${node.id}`);
        assert.ok(!names.has(node.name), `${file}: duplicate name ${node.name}`);
        ids.add(node.id);
        names.add(node.name);
        assert.equal(typeof node.type, 'string');
        assert.equal(typeof node.typeVersion, 'number', `${file}: ${node.name}`);
        assert.ok(Array.isArray(node.position) && node.position.length === 2 && node.position.every((n) => typeof n === 'number'), `${file}: ${node.name} position`);
        assert.equal(typeof node.parameters, 'object');
        for (const [type, ref] of Object.entries(node.credentials ?? {})) {
          assert.deepEqual(Object.keys(ref).sort(), ['id', 'name'], `${file}: ${node.name} credential ${type} is a reference (id, name) only`);
        }
      }
      assert.ok(
        json.nodes.some((n) => TRIGGER_TYPES.has(n.type)),
        `${file}: has a trigger`,
      );
    }
  });

  it('use only our node types and n8n-nodes-base types', () => {
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        assert.ok(OURS.has(node.type) || BASE_TYPES.has(node.type), `${file}: ${node.name} has type ${node.type}`);
      }
    }
  });

  it('set only parameters our nodes have for that resource and operation, with valid values, required ones filled, credentials set', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        const type = OURS.get(node.type);
        if (!type) continue;
        const versions = [type.description.version].flat();
        if (!versions.includes(node.typeVersion)) problems.push(`${file}: ${node.name}: typeVersion ${node.typeVersion} (has ${versions.join(', ')})`);
        problems.push(...parameterProblems(node, type.description).map((p) => `${file}: ${node.name}: ${p}`));
        for (const issue of wf.validateNodeCredentials(node, type)) problems.push(`${file}: ${node.name}: credential ${issue.credentialName} ${issue.type}`);
        const allowed = new Set((type.description.credentials ?? []).map((c) => c.name));
        for (const credential of Object.keys(node.credentials ?? {})) {
          if (!allowed.has(credential)) problems.push(`${file}: ${node.name}: credential type ${credential} is not one of the node's`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('connect existing nodes through existing outputs (Wait for Completion: 0 and 1), no node left unconnected, error outputs lead somewhere', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      const byName = new Map(json.nodes.map((n) => [n.name, n]));
      const incoming = new Set<string>();
      for (const [source, types] of Object.entries(json.connections)) {
        const node = byName.get(source);
        if (!node) {
          problems.push(`${file}: connection from missing node "${source}"`);
          continue;
        }
        for (const [type, outputs] of Object.entries(types)) {
          if (type !== 'main') problems.push(`${file}: ${source}: connection type ${type}`);
          const count = outputCount(node);
          (outputs ?? []).forEach((targets, index) => {
            if ((targets ?? []).length && index >= count) problems.push(`${file}: ${source}: output ${index} (it has ${count})`);
            for (const target of targets ?? []) {
              if (!byName.has(target.node)) problems.push(`${file}: ${source} → missing node "${target.node}"`);
              if (target.type !== 'main' || target.index !== 0) problems.push(`${file}: ${source} → ${target.node}: input ${target.type}/${target.index}`);
              incoming.add(target.node);
            }
          });
        }
      }
      for (const node of json.nodes) {
        if (TRIGGER_TYPES.has(node.type) || node.type === 'n8n-nodes-base.stickyNote') continue;
        if (!incoming.has(node.name)) problems.push(`${file}: ${node.name} has no incoming connection`);
      }
      for (const node of json.nodes.filter((n) => n.onError === 'continueErrorOutput')) {
        const errorOutput = (json.connections[node.name]?.main ?? [])[outputCount(node) - 1];
        if (!errorOutput?.length) problems.push(`${file}: ${node.name}: its error output leads nowhere`);
      }
      // The Proxmox and Talos nodes' continue-on-fail items carry more than `error`: n8n leaves them on the
      // success output, so that output must go through a guard that catches them.
      for (const node of json.nodes.filter((n) => n.onError === 'continueErrorOutput' && /^n8n-nodes-cortex\.(proxmox|talos)$/.test(n.type))) {
        const next = (json.connections[node.name]?.main?.[0] ?? []).map((t) => byName.get(t.node));
        const guarded = next.length > 0 && next.every((n) => n?.type === 'n8n-nodes-base.if' && JSON.stringify(n.parameters).includes('$json.error === undefined'));
        if (!guarded) problems.push(`${file}: ${node.name}: its success output is not guarded against error items`);
      }
      const waits = json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.handoff' && n.parameters.operation === 'waitForCompletion');
      for (const waitNode of waits) {
        const outputs = json.connections[waitNode.name]?.main ?? [];
        if (!(outputs[0]?.length && outputs[1]?.length)) problems.push(`${file}: ${waitNode.name} must lead on from Completed (0) and Failed / Timed Out (1)`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('have expressions n8n can parse, naming existing nodes', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) problems.push(...expressionProblems(json).map((p) => `${file}: ${p}`));
    assert.deepEqual(problems, []);
  });

  it('give every webhook its own method and path', () => {
    const seen = new Map<string, string>();
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
        const key = `${String(node.parameters.httpMethod)} ${String(node.parameters.path)}`;
        assert.ok(!seen.has(key), `${key} in ${file} and ${seen.get(key)}`);
        seen.set(key, file);
      }
    }
    for (const path of ['POST workflow-trigger', 'POST security-alert', 'POST github-push', 'POST prometheus-alert']) assert.ok(seen.has(path), path);
  });

  describe('seed workflows', () => {
    for (const [workflowId, file] of Object.entries(SEED_FILES)) {
      it(`${file} runs ${workflowId}: every phase reported, handed to its contractor, approvals gated, failures roll back`, () => {
        const definition: Definition = loadDefinition(workflowId);
        const json = loaded.get(file)!.json;
        const ours = (operation: string, resource?: string) =>
          json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.handoff' && n.parameters.operation === operation && (!resource || n.parameters.resource === resource));
        const start = ours('start', 'workflowRun');
        assert.equal(start.length, 1);
        assert.equal(start[0]!.parameters.workflowId, workflowId);
        assert.ok(String((start[0]!.parameters.options as Record<string, unknown>).concurrencyKey ?? '').length > 0, 'a concurrency key');
        const started = ours('startPhase').map((n) => n.parameters.phaseId);
        const completed = ours('completePhase').map((n) => n.parameters.phaseId);
        const phases = definition.phases.map((p) => p.phase_id);
        assert.deepEqual(started, phases);
        assert.deepEqual(completed, phases);
        for (const phase of definition.phases) {
          if (phase.contractor === 'n8n-contractor') continue;
          const create = ours('create', 'handoff').find((n) => (n.parameters.options as Record<string, unknown>).phaseId === phase.phase_id);
          assert.ok(create, `a handoff for ${phase.phase_id}`);
          assert.equal(create.parameters.toContractor, phase.contractor);
          assert.equal(create.parameters.fromContractor, 'n8n-contractor');
        }
        const gates = json.nodes.filter((n) => n.type === 'n8n-nodes-cortex.approvalGate');
        for (const action of definition.phases.flatMap((p) => p.actions).filter((a) => a.action === 'request_approval')) {
          const gate = gates.find((g) => String((g.parameters.options as Record<string, unknown>).approvalId).endsWith(`-${action.action_id}`));
          assert.ok(gate, `an Approval Gate for ${action.action_id}`);
          assert.equal(gate.parameters.requiredApprovals, action.parameters?.required_approvals);
          const outputs = json.connections[gate.name]?.main ?? [];
          assert.ok(outputs[0]?.length && outputs[1]?.length && outputs[2]?.length, `${gate.name}: Approved, Rejected and Timed Out lead on`);
        }
        assert.equal(ours('failPhase').length, 1);
        assert.equal(ours('fail', 'workflowRun').length, 1);
        assert.equal(ours('getRollbackPlan').length, 2);
        assert.ok(json.nodes.some((n) => n.type === 'n8n-nodes-base.respondToWebhook' && (n.parameters.options as Record<string, unknown>).responseCode === 202));
        for (const hook of json.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
          assert.equal(hook.parameters.responseMode, 'responseNode', `${hook.name} answers from a Respond to Webhook node`);
        }
      });
    }
  });

  it('workers serve every phase of their contractor and its rollback', () => {
    const definitions = Object.keys(SEED_FILES).map(loadDefinition);
    for (const [contractor, file] of [
      ['infrastructure-contractor', 'infrastructure-contractor-worker.json'],
      ['talos-contractor', 'talos-contractor-worker.json'],
    ] as const) {
      const json = loaded.get(file)!.json;
      const trigger = json.nodes.find((n) => n.type === 'n8n-nodes-cortex.handoffTrigger');
      assert.equal(trigger?.parameters.contractor, contractor);
      const route = json.nodes.find((n) => n.name === 'Route')!;
      const keys = ((route.parameters.rules as { values: Array<{ outputKey: string }> }).values ?? []).map((v) => v.outputKey);
      const expected: string[] = [];
      for (const definition of definitions) {
        const rollback = definition.rollback_procedure?.phases ?? [];
        for (const phase of definition.phases.filter((p) => p.contractor === contractor)) {
          expected.push(phase.phase_id);
          if (rollback.includes(phase.phase_id) || rollback.includes(`${phase.phase_id}-rollback`)) expected.push(`${phase.phase_id}-rollback`);
        }
      }
      assert.deepEqual([...keys].sort(), [...expected].sort(), file);
      const outputs = json.connections.Route?.main ?? [];
      keys.forEach((key, index) => assert.ok(outputs[index]?.length, `${file}: route ${key} leads somewhere`));
      for (const op of ['claim', 'complete', 'fail']) assert.ok(json.nodes.some((n) => n.parameters.operation === op && n.type === 'n8n-nodes-cortex.handoff'), `${file}: ${op}`);
    }
  });

  it('schedule the etcd backup at 0 2 * * * UTC with a Talos etcd snapshot', () => {
    const json = loaded.get('backup-etcd-snapshot.json')!.json;
    const trigger = json.nodes.find((n) => n.type === 'n8n-nodes-base.scheduleTrigger')!;
    assert.deepEqual(trigger.parameters.rule, { interval: [{ field: 'cronExpression', expression: '0 2 * * *' }] });
    assert.equal(json.settings.timezone, 'UTC');
    assert.ok(json.nodes.some((n) => n.type === 'n8n-nodes-cortex.talos' && n.parameters.resource === 'etcd' && n.parameters.operation === 'snapshot'));
  });

  it('hold no secrets: credentials are placeholders, no token-looking strings', () => {
    const problems: string[] = [];
    for (const [file, { text, json }] of loaded) {
      if (/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/.test(text)) problems.push(`${file}: PEM block`);
      if (/\b(Bearer|Basic|PVEAPIToken=)\s*[A-Za-z0-9+/=._-]{8,}/.test(text)) problems.push(`${file}: an authorization value`);
      if (/\b(gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})/.test(text)) problems.push(`${file}: a well-known token format`);
      for (const node of json.nodes) {
        const values: Array<[string, string]> = [];
        strings(node.parameters, node.name, values);
        for (const [path, value] of values) {
          // Assignment and condition ids of Set / If / Switch are the only UUIDs a template needs in its parameters.
          if (!/\.id$/.test(path) && /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(value)) problems.push(`${path}: a UUID (token secrets look like one)`);
          // Random-looking runs: 16+ letters and digits with 3+ digits (names like CortexEtcdBackup1 have fewer), or long hex.
          for (const segment of value.split(/[^A-Za-z0-9+]+/)) {
            const digits = segment.replace(/[^0-9]/g, '').length;
            if ((segment.length >= 16 && digits >= 3 && /[A-Za-z]/.test(segment)) || /^[0-9a-f]{24,}$/i.test(segment)) problems.push(`${file}: ${path}: token-looking "${segment}"`);
          }
          if (!value.startsWith('=') && /(password|passwd|secret|token|api[_-]?key)\s*[:=]\s*['"]?[A-Za-z0-9]/i.test(value)) problems.push(`${file}: ${path}: a secret-looking assignment`);
          if (/\.(password|cipassword|tokenSecret|token|secret|hmacSecret)$/.test(path)) problems.push(`${file}: ${path}: a secret parameter`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('reference the placeholder credentials a user re-links after import', () => {
    const names = new Set<string>();
    for (const [, { json }] of loaded) for (const node of json.nodes) for (const ref of Object.values(node.credentials ?? {})) names.add(ref.name);
    for (const name of ['Cortex (n8n-contractor)', 'Proxmox VE', 'Talos cluster']) assert.ok(names.has(name), name);
  });
});

