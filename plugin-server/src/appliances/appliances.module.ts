import { Module } from '@nestjs/common';
import { AppliancesService } from './appliances.service';

@Module({ providers: [AppliancesService], exports: [AppliancesService] })
export class AppliancesModule {}
