import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CloudInventory, CloudsService, CloudView } from './clouds.service';
import { AcceptThumbprintDto, AddCloudDto } from './dto/add-cloud.dto';

@ApiTags('clouds')
@Controller('api/v1/clouds')
export class CloudsController {
  constructor(private readonly clouds: CloudsService) {}

  @Get()
  list(): Promise<CloudView[]> {
    return this.clouds.list();
  }

  @Post()
  add(@Body() dto: AddCloudDto): Promise<CloudView> {
    return this.clouds.add(dto);
  }

  @Get(':name')
  async get(@Param('name') name: string): Promise<CloudView> {
    return CloudsService.view(await this.clouds.get(name));
  }

  @Get(':name/inventory')
  inventory(@Param('name') name: string): Promise<CloudInventory> {
    return this.clouds.inventory(name);
  }

  @Post(':name/accept-thumbprint')
  @HttpCode(200)
  accept(@Param('name') name: string, @Body() dto: AcceptThumbprintDto): Promise<CloudView> {
    return this.clouds.acceptThumbprint(name, dto.thumbprint);
  }

  @Delete(':name')
  @HttpCode(204)
  remove(@Param('name') name: string): Promise<void> {
    return this.clouds.remove(name);
  }
}
