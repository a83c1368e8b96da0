// The Handoff node's description: resources, operations and their fields, outputs.

import { NodeConnectionTypes } from 'n8n-workflow';
import type { INodeTypeDescription } from 'n8n-workflow';
import * as approval from './approval/Approval.resource.ts';
import * as handoff from './handoff/Handoff.resource.ts';
import * as metrics from './metrics/Metrics.resource.ts';
import * as workflowRun from './workflowRun/WorkflowRun.resource.ts';

/**
 * One output, except for Handoff → Wait for Completion: "Completed" and "Failed / Timed Out".
 * n8n evaluates this expression against the node's parameters, in the editor and the engine.
 */
export const OUTPUTS_EXPRESSION: `={{${string}}}` =
  '={{ $parameter.resource !== "workflowRun" && $parameter.resource !== "metrics" && $parameter.resource !== "approval" && $parameter.operation === "waitForCompletion" ? [{ "type": "main", "displayName": "Completed" }, { "type": "main", "displayName": "Failed / Timed Out" }] : [{ "type": "main" }] }}';

/**
 * What version 1 of the node consists of: inputs, outputs, credential, the resume webhook and
 * every field. Its name, icon and other identity fields are in Handoff.node.ts, where n8n's
 * community lint rules look for them (and the icon paths are relative to).
 */
export const versionDescription: Pick<INodeTypeDescription, 'inputs' | 'outputs' | 'credentials' | 'webhooks' | 'properties'> = {
  inputs: [NodeConnectionTypes.Main],
  outputs: OUTPUTS_EXPRESSION,
  credentials: [{ name: 'cortexApi', required: true }],
  // Wait for Completion: the execution's resume URL ($execution.resumeUrl) that the service calls back.
  webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '', restartWebhook: true }],
  properties: [
    {
      displayName: 'Resource',
      name: 'resource',
      type: 'options',
      noDataExpression: true,
      options: [
        { name: 'Approval', value: 'approval', description: 'Human approvals: read them, list them, cancel one, record a decision' },
        { name: 'Handoff', value: 'handoff', description: 'Work handed from one contractor to another' },
        { name: 'Metric', value: 'metrics', description: 'Workflow stats and contractor performance' },
        { name: 'Workflow Run', value: 'workflowRun', description: 'A run of a workflow definition, its phases and rollback' },
      ],
      default: 'handoff',
    },
    ...handoff.description,
    ...workflowRun.description,
    ...metrics.description,
    ...approval.description,
  ],
};
