import { Public } from '../session/session.guard';
import { Controller, Get, Header, Inject, NotFoundException } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { HDM_CONFIG, HdmConfig } from '../config/hdm-config';

/**
 * Serves plugin.json next to the UI it describes: the vSphere Client resolves the
 * manifest's relative `uri`s (index.html#/...) against this URL.
 */
@Public()
@Controller('ui')
export class ManifestController {
  constructor(@Inject(HDM_CONFIG) private readonly config: HdmConfig) {}

  @Get('plugin.json')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  async manifest(): Promise<string> {
    try {
      const text = await readFile(this.config.manifestFile, 'utf8');
      JSON.parse(text); // never serve a half-edited manifest
      return text;
    } catch (err) {
      throw new NotFoundException(`plugin manifest unavailable: ${(err as Error).message}`);
    }
  }
}
