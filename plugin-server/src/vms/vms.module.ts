import { Module } from '@nestjs/common';
import { PremVcenterService } from './prem-vcenter.service';
import { VmsController } from './vms.controller';

@Module({
  controllers: [VmsController],
  providers: [PremVcenterService],
  exports: [PremVcenterService],
})
export class VmsModule {}
