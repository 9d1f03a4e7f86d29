import { IsOptional, IsString, IsUrl, Length, Matches } from 'class-validator';

export class AddCloudDto {
  @IsString()
  @Matches(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: 'name must be 1-63 lowercase letters, digits or dashes, starting with a letter or digit' })
  name!: string;

  @IsUrl({ protocols: ['https'], require_protocol: true, require_tld: false }, { message: 'url must be the https:// /sdk URL of the cloud vCenter' })
  url!: string;

  @IsString()
  @Length(1, 256)
  username!: string;

  @IsString()
  @Length(1, 256)
  password!: string;

  /** SHA-1 thumbprint to pin; omitted = trust on first use (the answer shows what was pinned). */
  @IsOptional()
  @Matches(/^([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}$/, { message: 'thumbprint must be a SHA-1 thumbprint: 20 colon-separated hex bytes' })
  thumbprint?: string;
}

export class AcceptThumbprintDto {
  @Matches(/^([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}$/, { message: 'thumbprint must be a SHA-1 thumbprint: 20 colon-separated hex bytes' })
  thumbprint!: string;
}
