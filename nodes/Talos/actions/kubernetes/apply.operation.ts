import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { parseManifests } from '../../transport/kubernetes.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'apply', [
  {
    displayName: 'Manifests',
    name: 'manifests',
    type: 'string',
    typeOptions: { rows: 12 },
    default: '',
    required: true,
    description: 'YAML, several documents separated by ---; List kinds are flattened',
  },
  { displayName: 'Namespace', name: 'namespace', type: 'string', default: '', description: 'For namespaced objects without metadata.namespace; empty: the kubeconfig\'s namespace' },
  { displayName: 'Field Manager', name: 'fieldManager', type: 'string', default: 'n8n', required: true },
  { displayName: 'Force Conflicts', name: 'force', type: 'boolean', default: false, description: 'Whether to take over fields owned by other managers' },
  { displayName: 'Dry Run', name: 'dryRun', type: 'boolean', default: false, description: 'Whether to let the API server validate and answer without persisting (dryRun=All)' },
]);

/** Server-side apply, one object after another (in document order); one output item per object. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const objects = parseManifests(this.getNodeParameter('manifests', itemIndex) as string);
  const kube = await session.kubernetes(itemIndex);
  const options = {
    fieldManager: this.getNodeParameter('fieldManager', itemIndex, 'n8n') as string,
    force: this.getNodeParameter('force', itemIndex, false) as boolean,
    dryRun: this.getNodeParameter('dryRun', itemIndex, false) as boolean,
    namespace: (this.getNodeParameter('namespace', itemIndex, '') as string).trim() || undefined,
  };
  const out: IDataObject[] = [];
  for (const object of objects) {
    const { object: result, namespace } = await kube.apply(object, options);
    const metadata = (result.metadata ?? {}) as IDataObject;
    out.push({
      apiVersion: result.apiVersion,
      kind: result.kind,
      name: metadata.name,
      ...(namespace ? { namespace } : {}),
      generation: metadata.generation,
      resourceVersion: metadata.resourceVersion,
      dryRun: options.dryRun,
      object: result,
    });
  }
  return items(itemIndex, out);
}
