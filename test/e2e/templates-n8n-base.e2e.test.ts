// The workflow templates' n8n-nodes-base nodes (templates/n8n/*.json) against real n8n 2.41.1's
// n8n-nodes-base, as installed by scripts/install-n8n.sh (n8nHome(): installs it once when missing;
// without it, and when that install fails, these tests fail, saying how to install it):
//
// - every n8n-nodes-base node has a typeVersion the installed n8n has, and its parameters are checked
//   against that version's description (displayOptions, option values, resource locator modes,
//   required fields, as n8n's own NodeHelpers read them), its credentials against the node's;
// - every node's output count (our rules, used by test/templates/n8n-templates.test.ts to check the
//   connections) is the one n8n's NodeHelpers.getNodeOutputs gives on a Workflow of the template.
//
// The rest of the template checks need no n8n and run in `npm test` (test/templates/n8n-templates.test.ts);
// the templates run inside n8n in test/e2e/templates.e2e.test.ts.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { baseTypes, loaded, n8nOutputCount, nodeTypes, OURS, outputCount, parameterProblems, wf, type BaseType } from '../templates/template-checks.ts';
import { n8nHome } from './n8n.ts';

describe('n8n workflow templates against the installed n8n-nodes-base', () => {
  let base = new Map<string, BaseType>();

  before(async () => {
    let home: string;
    try {
      home = await n8nHome();
    } catch (error) {
      throw new Error(
        'n8n 2.41.1 is not installed and could not be installed: run `bash scripts/install-n8n.sh`, ' +
          `or set CORTEX_N8N_HOME to a folder where it installed n8n.\n${(error as Error).message}`,
      );
    }
    base = baseTypes(home);
  });

  it('use n8n-nodes-base typeVersions and parameters of the installed n8n 2.41.1', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      for (const node of json.nodes) {
        if (OURS.has(node.type)) continue;
        const baseType = base.get(node.type);
        if (!baseType) {
          problems.push(`${file}: ${node.name}: ${node.type} is not in the installed n8n-nodes-base`);
          continue;
        }
        if (!baseType.versions.includes(node.typeVersion)) {
          problems.push(`${file}: ${node.name}: ${node.type} has no typeVersion ${node.typeVersion} (has ${baseType.versions.join(', ')})`);
          continue;
        }
        if (node.type === 'n8n-nodes-base.stickyNote') continue;
        const description = baseType.load(node.typeVersion);
        problems.push(...parameterProblems(node, description).map((p) => `${file}: ${node.name}: ${p}`));
        const credentialTypes = new Set((description.credentials ?? []).map((c) => c.name));
        const p = node.parameters as Record<string, unknown>;
        for (const dynamic of [p.genericAuthType, p.nodeCredentialType]) if (typeof dynamic === 'string') credentialTypes.add(dynamic);
        if (p.authentication === 'headerAuth') credentialTypes.add('httpHeaderAuth');
        for (const credential of Object.keys(node.credentials ?? {})) {
          if (!credentialTypes.has(credential)) problems.push(`${file}: ${node.name}: credential type ${credential} is not one the node uses`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('count outputs as n8n does', () => {
    const problems: string[] = [];
    for (const [file, { json }] of loaded) {
      const copy = structuredClone(json);
      const workflow = new wf.Workflow({ id: copy.id, name: copy.name, nodes: copy.nodes, connections: copy.connections, active: false, nodeTypes: nodeTypes(base), settings: copy.settings });
      for (const node of copy.nodes) {
        const theirs = n8nOutputCount(workflow, node, base);
        if (theirs === undefined) problems.push(`${file}: ${node.name}: ${node.type} ${node.typeVersion} has no description to count its outputs with`);
        else if (theirs !== outputCount(node)) problems.push(`${file}: ${node.name}: n8n counts ${theirs} outputs, the test ${outputCount(node)}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
