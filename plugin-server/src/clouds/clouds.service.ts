import { BadGatewayException, BadRequestException, ConflictException, HttpException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DataSource, Repository } from 'typeorm';
import { DATA_SOURCE } from '../database/database.module';
import { PkiService } from '../pki/pki.service';
import { Inventory, probeThumbprint, VcenterPool, VimClient, VimConnectionError, VimFault } from '../vsphere';
import { CloudEntity } from './cloud.entity';
import { AddCloudDto } from './dto/add-cloud.dto';

export interface CloudView {
  name: string;
  url: string;
  username: string;
  thumbprint: string;
  pendingThumbprint?: string;
}

export interface CloudInventory {
  clusters: Array<{ id: string; name: string }>;
  resourcePools: Array<{ id: string; name: string; cluster?: string }>;
  datastores: Array<{ id: string; name: string; freeBytes: number }>;
  folders: Array<{ id: string; name: string }>;
  networks: Array<{ id: string; name: string }>;
}

/** Target clouds as configuration: stored, credentials sealed, certificates pinned. */
@Injectable()
export class CloudsService {
  private readonly repo: Repository<CloudEntity>;

  constructor(
    @Inject(DATA_SOURCE) ds: DataSource,
    private readonly pki: PkiService,
    private readonly pool: VcenterPool,
  ) {
    this.repo = ds.getRepository(CloudEntity);
  }

  static view(c: CloudEntity): CloudView {
    return { name: c.name, url: c.url, username: c.username, thumbprint: c.thumbprint, ...(c.pendingThumbprint ? { pendingThumbprint: c.pendingThumbprint } : {}) };
  }

  async list(): Promise<CloudView[]> {
    return (await this.repo.find({ order: { name: 'ASC' } })).map(CloudsService.view);
  }

  async get(name: string): Promise<CloudEntity> {
    const c = await this.repo.findOneBy({ name });
    if (!c) throw new NotFoundException(`no cloud named "${name}"`);
    return c;
  }

  /** Adds a cloud after proving the credentials work against the pinned certificate. */
  async add(dto: AddCloudDto): Promise<CloudView> {
    if (await this.repo.findOneBy({ name: dto.name })) throw new ConflictException(`a cloud named "${dto.name}" exists already`);
    let thumbprint = dto.thumbprint?.toUpperCase();
    try {
      thumbprint ??= await probeThumbprint(dto.url);
      const client = await VimClient.connect({ url: dto.url, username: dto.username, password: dto.password, thumbprint });
      await client.logout();
    } catch (err) {
      throw this.connectError(err, dto.url, dto.username);
    }
    const entity = this.repo.create({
      name: dto.name,
      url: dto.url,
      username: dto.username,
      passwordSealed: this.pki.secrets.seal(dto.password),
      thumbprint,
      pendingThumbprint: null,
    });
    await this.repo.save(entity);
    return CloudsService.view(entity);
  }

  async remove(name: string): Promise<void> {
    const c = await this.get(name);
    await this.pool.release({ url: c.url, username: c.username });
    await this.repo.delete({ name });
  }

  /** An administrator accepts the certificate the cloud presents now. */
  async acceptThumbprint(name: string, thumbprint: string): Promise<CloudView> {
    const c = await this.get(name);
    const presented = await probeThumbprint(c.url).catch((err: Error) => {
      throw new BadGatewayException(`cannot reach cloud "${name}" at ${c.url}: ${err.message}`);
    });
    if (presented !== thumbprint.toUpperCase()) {
      throw new BadRequestException(`cloud "${name}" presents ${presented}, not ${thumbprint.toUpperCase()}: nothing changed`);
    }
    await this.pool.release({ url: c.url, username: c.username });
    c.thumbprint = presented;
    c.pendingThumbprint = null;
    await this.repo.save(c);
    return CloudsService.view(c);
  }

  /** A logged-in, pinned session on the cloud's vCenter. */
  async connect(name: string): Promise<VimClient> {
    return this.use(name, async (client) => client);
  }

  /**
   * Runs `fn` on the cloud's pooled session. A certificate that no longer matches the
   * pin (now or in the middle of `fn`) is recorded as pending and refused with 409.
   */
  async use<T>(name: string, fn: (client: VimClient) => Promise<T>): Promise<T> {
    const c = await this.get(name);
    if (c.pendingThumbprint) throw this.changedCertificate(c, c.pendingThumbprint);
    try {
      const client = await this.pool.get({ url: c.url, username: c.username, password: this.pki.secrets.open(c.passwordSealed), thumbprint: c.thumbprint });
      return await fn(client);
    } catch (err) {
      if (err instanceof VimConnectionError && err.code === 'THUMBPRINT_MISMATCH') {
        await this.pool.release({ url: c.url, username: c.username });
        const presented = await probeThumbprint(c.url).catch(() => 'unknown');
        c.pendingThumbprint = presented;
        await this.repo.save(c);
        throw this.changedCertificate(c, presented);
      }
      throw this.connectError(err, c.url, c.username);
    }
  }

  async inventory(name: string): Promise<CloudInventory> {
    return this.use(name, (client) => this.readInventory(client));
  }

  private async readInventory(client: VimClient): Promise<CloudInventory> {
    const inv = new Inventory(client);
    const [clusters, pools, datastores, folders, networks] = await Promise.all([
      inv.clusters(),
      inv.resourcePools(),
      inv.datastores(),
      inv.vmFolders(),
      inv.networks(),
    ]);
    return {
      clusters: clusters.map((c) => ({ id: c.moid, name: c.name })),
      resourcePools: pools.map((p) => ({ id: p.moid, name: p.name, cluster: p.owner?.moid })),
      datastores: datastores.map((d) => ({ id: d.moid, name: d.name, freeBytes: d.freeSpace })),
      folders: folders.map((f) => ({ id: f.moid, name: f.name })),
      networks: networks.map((n) => ({ id: n.moid, name: n.name })),
    };
  }

  private changedCertificate(c: CloudEntity, presented: string): ConflictException {
    return new ConflictException(
      `the certificate of cloud "${c.name}" changed (pinned ${c.thumbprint}, now ${presented}); ` +
        `refused until an administrator accepts it: hdm clouds accept ${c.name} ${presented}`,
    );
  }

  private connectError(err: unknown, url: string, username: string): Error {
    if (err instanceof HttpException) return err;
    if (VimFault.is(err, 'InvalidLogin')) return new BadRequestException(`vCenter ${url} rejected the login of "${username}"`);
    if (err instanceof VimConnectionError) return new BadGatewayException(`cannot connect to ${url}: ${err.message}`);
    if (err instanceof VimFault) return new BadGatewayException(`vCenter ${url}: ${err.faultName}: ${err.message}`);
    return err as Error;
  }
}
