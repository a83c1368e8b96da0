import { createHash } from 'node:crypto';
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation } from '../common.ts';

export const description: INodeProperties[] = forOperation('etcd', 'snapshot', [
  { displayName: 'Put Output File in Field', name: 'binaryPropertyName', type: 'string', default: 'data', required: true },
  { displayName: 'File Name', name: 'fileName', type: 'string', default: 'etcd.snapshot' },
  {
    displayName: 'Verify Integrity Hash',
    name: 'verifyHash',
    type: 'boolean',
    default: true,
    description: 'Whether to check the sha256 etcd appends to a snapshot (what etcdutl snapshot restore checks)',
  },
]);

/** Streams the snapshot, checks it (non-empty, etcd's trailing sha256) and returns it as a file with its sha256. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const snapshot = await client.readAll('machine.MachineService', 'EtcdSnapshot', {}, { node: call.node, timeoutMs: Math.max(call.timeoutMs, 300_000) });
  if (snapshot.length === 0) throw new Error('The etcd snapshot stream was empty');
  let integrityHashVerified = false;
  if (this.getNodeParameter('verifyHash', itemIndex, true) as boolean) {
    if (snapshot.length <= 32) throw new Error(`The etcd snapshot is too short (${snapshot.length} bytes)`);
    const expected = snapshot.subarray(-32);
    const actual = createHash('sha256').update(snapshot.subarray(0, -32)).digest();
    if (!actual.equals(expected)) throw new Error('The etcd snapshot failed its integrity check: the trailing sha256 does not match the data');
    integrityHashVerified = true;
  }
  const property = this.getNodeParameter('binaryPropertyName', itemIndex) as string;
  const fileName = this.getNodeParameter('fileName', itemIndex, 'etcd.snapshot') as string;
  return [
    {
      json: {
        node: call.node ?? client.endpoint,
        hostname: client.hostnameOf(call.node) ?? '',
        size: snapshot.length,
        sha256: createHash('sha256').update(snapshot).digest('hex'),
        integrityHashVerified,
      },
      binary: { [property]: await this.helpers.prepareBinaryData(snapshot, fileName, 'application/octet-stream') },
      pairedItem: { item: itemIndex },
    },
  ];
}
