import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { waitForTask } from '../../transport/tasks.ts';
import { forOperation, optionsField, settings, type OperationContext } from '../shared.ts';
import { upidField, upidFrom } from './upid.ts';

/** Waits for a UPID: OK, OK with warnings, or an error with the exit status and the log tail. */
const options = optionsField({ task: true });
options.options = (options.options ?? []).filter((option) => option.name !== 'waitForTask');

export const description = forOperation('task', 'wait', [upidField, options]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject> {
  const { raw } = upidFrom.call(this, itemIndex);
  const result = await waitForTask(ctx.client, raw, { ...settings.call(this, itemIndex), waitForTask: true });
  return { ...result };
}
