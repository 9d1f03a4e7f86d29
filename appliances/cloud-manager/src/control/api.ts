import { ControlServer, validateBody } from '@hdm/appliance-common';
import { importBodySchema, ImportService } from './imports';

/** Control API of cloud-manager (JSON over mTLS; client = the plugin server). */
export function registerImportRoutes(server: ControlServer, imports: ImportService): void {
  server
    .route('POST', '/v1/imports', (_, body) => {
      const r = imports.create(validateBody(importBodySchema, body));
      return { status: r.status, body: r.job };
    })
    .route('GET', '/v1/imports/:id', ({ id }) => ({ status: 200, body: imports.status(id!) }))
    .route('DELETE', '/v1/imports/:id', ({ id }) => ({ status: 200, body: imports.cancel(id!) }))
    .route('GET', '/v1/health', () => ({ status: 200, body: { role: 'cloud-manager', ok: true } }));
}
