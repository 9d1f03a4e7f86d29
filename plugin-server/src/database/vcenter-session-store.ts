import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { PkiService } from '../pki/pki.service';
import { VcenterSessionStore } from '../vsphere';
import { DATA_SOURCE } from './data-source.token';
import { VcenterSessionEntity } from './vcenter-session.entity';

/** VcenterSessionStore on the HDM database; cookies are secrets and stored sealed. */
@Injectable()
export class DatabaseVcenterSessionStore implements VcenterSessionStore {
  constructor(
    @Inject(DATA_SOURCE) private readonly ds: DataSource,
    private readonly pki: PkiService,
  ) {}

  private key(url: string, username: string): string {
    return `${url}\n${username.toLowerCase()}`;
  }

  async load(url: string, username: string): Promise<string | undefined> {
    const row = await this.ds.getRepository(VcenterSessionEntity).findOneBy({ key: this.key(url, username) });
    return row ? this.pki.secrets.open(row.cookieSealed) : undefined;
  }

  async save(url: string, username: string, cookie: string | undefined): Promise<void> {
    const repo = this.ds.getRepository(VcenterSessionEntity);
    if (!cookie) await repo.delete({ key: this.key(url, username) });
    else await repo.save({ key: this.key(url, username), cookieSealed: this.pki.secrets.seal(cookie) });
  }
}
