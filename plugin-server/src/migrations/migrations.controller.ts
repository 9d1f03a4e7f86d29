import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { SessionRequest } from '../session/session.guard';
import { CreateMigrationDto } from './dto/create-migration.dto';
import { VcenterSessionService } from '../session/vcenter-session.service';
import { MIGRATE_PRIVILEGES } from '../vms/vms.controller';
import { JobView, MigrationsService } from './migrations.service';

@ApiTags('migrations')
@Controller('api/v1')
export class MigrationsController {
  constructor(
    private readonly migrations: MigrationsService,
    private readonly sessions: VcenterSessionService,
  ) {}

  @Post('migrations')
  async create(@Body() dto: CreateMigrationDto, @Req() req: SessionRequest): Promise<JobView> {
    // The user must be allowed to export this VM's disks in vCenter; HDM then acts with its own session.
    await this.sessions.authorize(req.user!, [{ type: 'VirtualMachine', value: dto.vm }], MIGRATE_PRIVILEGES);
    return this.migrations.create(dto, req.user?.userName ?? '');
  }

  @Get('jobs')
  list(@Query('vm') vm?: string, @Query('state') state?: string): Promise<JobView[]> {
    return this.migrations.list({ vm, state });
  }

  @Get('jobs/:id')
  get(@Param('id') id: string): Promise<JobView> {
    return this.migrations.get(id);
  }

  @Post('jobs/:id/cancel')
  @HttpCode(202)
  cancel(@Param('id') id: string): Promise<JobView> {
    return this.migrations.cancel(id);
  }
}
