import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, Matches, ValidateNested } from 'class-validator';

const MOID = /^[A-Za-z0-9._:@\[\]\/-]{1,128}$/;

export class PlacementDto {
  @Matches(MOID, { message: 'placement.cluster must be a cluster id (moid) of the target cloud' })
  cluster!: string;

  @IsOptional()
  @Matches(MOID, { message: 'placement.resourcePool must be a resource pool id (moid)' })
  resourcePool?: string;

  @Matches(MOID, { message: 'placement.datastore must be a datastore id (moid) of the target cloud' })
  datastore!: string;

  @IsOptional()
  @Matches(MOID, { message: 'placement.folder must be a VM folder id (moid)' })
  folder?: string;
}

export class CreateMigrationDto {
  /** Source VM moid in the prem vCenter. */
  @Matches(MOID, { message: 'vm must be a VM id (moid) such as vm-42' })
  vm!: string;

  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'cloud must name a configured cloud' })
  cloud!: string;

  @IsIn(['cold'], { message: 'kind must be "cold" (warm, tbc and burst are not available yet)' })
  kind!: 'cold';

  /** Name of the VM in the cloud; defaults to the source name. */
  @IsOptional()
  @IsString()
  @Length(1, 80, { message: 'targetName must be 1-80 characters' })
  @Matches(/^[^/\\%]+$/, { message: 'targetName may not contain / \\ or %' })
  targetName?: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => PlacementDto)
  placement?: PlacementDto;

  /** Source network name → target network id (moid). Unmapped networks go to the only/first target network. */
  @IsOptional()
  @IsObject({ message: 'networkMap must be an object of source network name → target network id' })
  networkMap?: Record<string, string>;

  @IsOptional()
  @IsBoolean()
  powerOn?: boolean;
}
