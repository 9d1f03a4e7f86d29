import { DynamicModule, Module } from '@nestjs/common';
import { VcenterPool, VSPHERE_OPTIONS, VsphereModuleOptions } from './vcenter-pool';

/**
 * VsphereModule.register(): provides VcenterPool, the pooled vCenter sessions (see vcenter-pool.ts).
 * Import it in the feature modules that talk to vCenter; the pool logs out on module destroy.
 */
@Module({})
export class VsphereModule {
  static register(options: VsphereModuleOptions = {}): DynamicModule {
    return {
      module: VsphereModule,
      providers: [{ provide: VSPHERE_OPTIONS, useValue: options }, VcenterPool],
      exports: [VcenterPool],
    };
  }
}
