import { Public } from '../session/session.guard';
import { Controller, Get, Inject } from '@nestjs/common';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';
import { PkiService } from '../pki/pki.service';
import { RegistrationService } from '../plugin/registration.service';

/** Liveness and registration state; read by the lab and by monitoring. No session needed. */
@Public()
@Controller('api/v1/health')
export class HealthController {
  constructor(
    @Inject(HDM_CONFIG) private readonly config: HdmConfig,
    private readonly pki: PkiService,
    private readonly registration: RegistrationService,
  ) {}

  @Get()
  health() {
    return {
      status: 'ok',
      version: this.config.version,
      extensionKey: this.config.extensionKey,
      manifestUrl: this.registration.manifestUrl,
      serverThumbprint: this.pki.serverCertificate.sha1,
      registration: this.registration.state,
      // Where a CLI logs in to get a session token; the thumbprint is what this server pins.
      vcenter: this.config.vcenter ? { url: this.config.vcenter.url, thumbprint: this.config.vcenter.thumbprint } : undefined,
    };
  }
}
