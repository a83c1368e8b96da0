// The Talos node's description as n8n reads it: a parameter meant for one configuration source or
// one mode is shown (and required) only there, so the canvas does not ask for a field the node
// will not read.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { INode, INodeParameters } from 'n8n-workflow';

const wf = createRequire(import.meta.url)('n8n-workflow') as typeof import('n8n-workflow');
const { Talos } = await import('../../nodes/Talos/Talos.node.ts');
const description = new Talos().description;

function node(parameters: INodeParameters): INode {
  return { id: 'talos', name: 'Talos', type: 'n8n-nodes-cortex.talos', typeVersion: 1, position: [0, 0], parameters };
}

/** The parameters n8n shows for these values, and the names of the required ones it finds missing. */
function resolve(parameters: INodeParameters) {
  const full = wf.NodeHelpers.getNodeParameters(description.properties, parameters, true, false, node(parameters), description)!;
  const shown = description.properties
    .filter((property) => wf.NodeHelpers.displayParameter(full, property, node(full), description))
    .map((property) => property.name);
  const issues = wf.NodeHelpers.getNodeParametersIssues(description.properties, node(full), description);
  return { shown, missing: Object.keys(issues?.parameters ?? {}) };
}

describe('Talos node description', () => {
  it('asks for Machine Configuration only when it comes from a field, and for the binary field only from binary input', () => {
    const fromField = resolve({ resource: 'machine', operation: 'applyConfiguration', configSource: 'field', node: '10.0.0.11' });
    assert.ok(fromField.shown.includes('config'));
    assert.ok(!fromField.shown.includes('binaryPropertyName'));
    assert.deepEqual(fromField.missing, ['config'], 'an empty configuration is flagged when typed in');

    const fromBinary = resolve({ resource: 'machine', operation: 'applyConfiguration', configSource: 'binary', node: '10.0.0.11' });
    assert.ok(!fromBinary.shown.includes('config'));
    assert.ok(fromBinary.shown.includes('binaryPropertyName'));
    assert.deepEqual(fromBinary.missing, [], 'nothing is missing when the configuration is read from a file');
  });

  it('shows the try timeout only in Try mode', () => {
    const base = { resource: 'machine', operation: 'applyConfiguration', config: 'version: v1alpha1', node: '10.0.0.11' };
    assert.ok(resolve({ ...base, mode: 'TRY' }).shown.includes('tryTimeout'));
    assert.ok(!resolve({ ...base, mode: 'AUTO' }).shown.includes('tryTimeout'));
  });
});
