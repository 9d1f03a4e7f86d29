import { Module } from '@nestjs/common';
import { CloudsController } from './clouds.controller';
import { CloudsService } from './clouds.service';

@Module({
  controllers: [CloudsController],
  providers: [CloudsService],
  exports: [CloudsService],
})
export class CloudsModule {}
