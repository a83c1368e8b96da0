// Writes the n8n workflow templates (templates/n8n/*.json) from the workflow modules:
//   node templates/n8n/src/generate.ts          (Node 24; scripts/node24.sh)
// test/templates/n8n-templates.test.ts fails when the committed JSON differs from what this writes.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WorkflowJson } from './builder.ts';
import { etcdBackup, workflowTrigger } from './extras.ts';
import { appDeploymentPipeline, buildK8sCluster, deployMonitoringStack, drFailover, securityIncidentResponse } from './orchestrators.ts';
import { infrastructureWorker, talosWorker } from './workers.ts';

export interface Template {
  file: string;
  workflow: WorkflowJson;
  /** The definition (templates/definitions/<id>.json) a seed-workflow template runs. */
  definition?: string;
}

export function templates(): Template[] {
  const seeds: Array<[string, () => { meta: { file: string }; toJson(): WorkflowJson }]> = [
    ['deploy-monitoring-stack', deployMonitoringStack],
    ['build-k8s-cluster', buildK8sCluster],
    ['dr-failover', drFailover],
    ['app-deployment-pipeline', appDeploymentPipeline],
    ['security-incident-response', securityIncidentResponse],
  ];
  const out: Template[] = seeds.map(([definition, build]) => {
    const b = build();
    return { file: b.meta.file, workflow: b.toJson(), definition };
  });
  for (const build of [workflowTrigger, etcdBackup, infrastructureWorker, talosWorker]) {
    const b = build();
    out.push({ file: b.meta.file, workflow: b.toJson() });
  }
  return out;
}

/** The file's text exactly as written (two-space JSON, trailing newline). */
export function render(template: Template): string {
  return `${JSON.stringify(template.workflow, null, 2)}\n`;
}

export const TEMPLATE_DIR = fileURLToPath(new URL('../', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const template of templates()) {
    writeFileSync(new URL(`../${template.file}`, import.meta.url), render(template));
    console.log(`templates/n8n/${template.file}: ${template.workflow.nodes.length} nodes`);
  }
}
