import 'reflect-metadata';
import { Logger, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { existsSync } from 'node:fs';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { ConfigError, loadConfig } from './config/hdm-config';
import { PkiService } from './pki/pki.service';
import { RegistrationService } from './plugin/registration.service';

/** Exit codes: 2 = configuration / environment the administrator must fix. */
async function bootstrap(): Promise<void> {
  const logger = new Logger('hdm');
  const config = loadConfig();
  const pki = PkiService.bootstrap(config);
  if (pki.serverCertificate.issued) logger.log(`issued a new server certificate, SHA-1 ${pki.serverCertificate.sha1}`);

  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, pki), {
    httpsOptions: {
      key: pki.serverCertificate.keyPem,
      passphrase: pki.serverCertificate.passphrase,
      cert: pki.serverCertificate.certPem + pki.ca.certPem,
    },
    bufferLogs: false,
  });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.useGlobalFilters(new HttpExceptionFilter());
  if (existsSync(config.uiDir)) {
    app.useStaticAssets(config.uiDir, { prefix: '/ui/', index: 'index.html', fallthrough: true });
  } else {
    logger.warn(`plugin UI not built (${config.uiDir} missing): run npm run build`);
  }
  const openapi = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('HDM API')
      .setDescription('Every route needs a live vSphere session: header vmware-api-session-id = the prem vCenter session token')
      .setVersion(config.version)
      .addApiKey({ type: 'apiKey', in: 'header', name: 'vmware-api-session-id' }, 'vsphere-session')
      .addSecurityRequirements('vsphere-session')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, openapi, { jsonDocumentUrl: 'api/v1/openapi.json' });
  app.enableShutdownHooks();
  try {
    await app.listen(config.port, config.listenHost);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') throw new ConfigError(`port ${config.listenHost}:${config.port} is already in use by another process: stop it or set HDM_PORT`);
    if (e.code === 'EACCES') throw new ConfigError(`no permission to listen on ${config.listenHost}:${config.port}: run as root or pick HDM_PORT >= 1024`);
    throw err;
  }
  logger.log(`HDM plugin server listening on ${config.publicUrl} (manifest ${config.publicUrl}/ui/plugin.json)`);
  app.get(RegistrationService).start();
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`hdm: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
