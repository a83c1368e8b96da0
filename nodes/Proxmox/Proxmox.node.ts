import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { router } from './actions/router.ts';
import { versionDescription } from './actions/versionDescription.ts';
import * as listSearch from './methods/listSearch.ts';
import * as loadOptions from './methods/loadOptions.ts';

export class Proxmox implements INodeType {
  description: INodeTypeDescription = {
    ...versionDescription,
    icon: { light: 'file:proxmox.svg', dark: 'file:proxmox.dark.svg' },
    subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
    usableAsTool: true,
  };

  methods = { loadOptions, listSearch };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return await router.call(this);
  }
}
