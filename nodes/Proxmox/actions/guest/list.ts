import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { forOperation, KIND, LABEL, nodeField, optionsField, settings, type GuestResource, type Operation, type OperationContext } from '../shared.ts';

/** List VMs / containers: of one node (GET /nodes/{node}/qemu) or of the whole cluster (/cluster/resources). */
export function makeList(resource: GuestResource): Operation {
  const label = LABEL[resource];
  const description: INodeProperties[] = forOperation(resource, 'list', [
    nodeField({ auto: true, description: `Node whose ${label.toLowerCase()}s to list; Auto-Detect lists the whole cluster` }),
    {
      displayName: 'Filters',
      name: 'filters',
      type: 'collection',
      placeholder: 'Add Filter',
      default: {},
      options: [
        {
          displayName: 'Templates',
          name: 'templates',
          type: 'options',
          options: [
            { name: 'Include', value: 'include' },
            { name: 'Exclude', value: 'exclude' },
            { name: 'Only', value: 'only' },
          ],
          default: 'include',
        },
        {
          displayName: 'Status',
          name: 'status',
          type: 'options',
          options: [
            { name: 'Any', value: '' },
            { name: 'Running', value: 'running' },
            { name: 'Stopped', value: 'stopped' },
          ],
          default: '',
        },
        { displayName: 'Name Contains', name: 'name', type: 'string', default: '' },
      ],
    },
    optionsField({}),
  ]);

  async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
    const s = settings.call(this, itemIndex);
    const kind = KIND[resource];
    const node = String(this.getNodeParameter('node', itemIndex, '') ?? '').trim();
    const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
    let guests: IDataObject[];
    if (node) {
      guests = ((await ctx.client.get<IDataObject[]>(`/nodes/${encodeURIComponent(node)}/${kind}`, undefined, s)) ?? []).map((g) => ({ ...g, node, type: kind }));
    } else {
      guests = ((await ctx.client.get<IDataObject[]>('/cluster/resources', { type: 'vm' }, s)) ?? []).filter((g) => g.type === kind);
    }
    const templates = String(filters.templates ?? 'include');
    const name = String(filters.name ?? '').toLowerCase();
    return guests
      .map((g): IDataObject & { vmid: number; template: boolean } => ({ ...g, vmid: Number(g.vmid), template: Number(g.template ?? 0) === 1 }))
      .filter((g) => templates === 'include' || (templates === 'only') === g.template)
      .filter((g) => !filters.status || g.status === filters.status)
      .filter((g) => !name || String(g.name ?? '').toLowerCase().includes(name))
      .sort((a, b) => a.vmid - b.vmid);
  }

  return { description, execute };
}
