import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SessionGuard } from './session.guard';
import { VcenterSessionService } from './vcenter-session.service';

@Global()
@Module({
  providers: [VcenterSessionService, { provide: APP_GUARD, useClass: SessionGuard }],
  exports: [VcenterSessionService],
})
export class SessionModule {}
