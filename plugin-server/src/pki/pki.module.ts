import { DynamicModule, Global, Module } from '@nestjs/common';
import { PKI_MATERIAL, PkiMaterial, PkiService } from './pki.service';

/** Registered with the CA material main.ts loaded before the HTTPS listener started. */
@Global()
@Module({})
export class PkiModule {
  static register(material: PkiMaterial): DynamicModule {
    return {
      module: PkiModule,
      providers: [{ provide: PKI_MATERIAL, useValue: material }, PkiService],
      exports: [PkiService],
    };
  }
}
