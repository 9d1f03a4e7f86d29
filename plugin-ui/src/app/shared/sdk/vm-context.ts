import { ActivatedRouteSnapshot } from '@angular/router';
import { SdkService } from './sdk.service';

/**
 * The moid of the VM a view was opened for: the SDK's context object, or — outside the vSphere
 * Client (development, the lab) — the `vm` query parameter of the hash route (`#/vm-monitor?vm=vm-42`).
 */
export function resolveVmMoid(sdk: SdkService, route: ActivatedRouteSnapshot | null | undefined): string | null {
  const ctx = sdk.getContextObject();
  if (ctx && ctx.type === 'VirtualMachine') return ctx.value;
  const q = route?.queryParamMap.get('vm');
  return q && q.trim() ? q.trim() : null;
}
