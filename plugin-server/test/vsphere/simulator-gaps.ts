import { TestContext } from 'node:test';
import { VimFault } from '../../src/vsphere';

/**
 * Skips the running test when `err` is exactly the fault a gap of the lab simulator produces
 * (`faultName`, naming `method` when given); rethrows anything else. Only for vSphere behaviour
 * test/lab/vcsim does not implement yet, so the test turns on by itself once the harness does.
 */
export function skipIfSimulatorLacks(t: TestContext, err: unknown, faultName: string, reason: string, method?: string): void {
  if (VimFault.is(err, faultName) && (!method || err.message.includes(method) ||
    (err.detail as { method?: string } | undefined)?.method === method)) {
    t.skip(`simulator lacks ${reason} yet (${faultName}${method ? ` for ${method}` : ''})`);
    return;
  }
  throw err;
}

/** The reason used while the harness's strict checker looks up `<Method>RequestType` for `*_Task` methods. */
export const TASK_METHODS_GAP = '_Task methods in the strict checker (it looks up e.g. PowerOnVM_TaskRequestType, govmomi names it PowerOnVMRequestType)';
