import { ControlServer, rateSettingSchema, validateBody } from '@hdm/appliance-common';
import { exportBodySchema, ExportService } from './exports';

/** Control API of prem-manager (JSON over mTLS; client = the plugin server). */
export function registerExportRoutes(server: ControlServer, exports: ExportService): void {
  server
    .route('POST', '/v1/exports', (_, body) => {
      const r = exports.create(validateBody(exportBodySchema, body));
      return { status: r.status, body: r.job };
    })
    .route('GET', '/v1/exports/:id', ({ id }) => ({ status: 200, body: exports.status(id!) }))
    .route('DELETE', '/v1/exports/:id', ({ id }) => ({ status: 200, body: exports.cancel(id!) }))
    .route('PATCH', '/v1/exports/:id', ({ id }, body) => ({ status: 200, body: exports.setLimit(id!, validateBody(rateSettingSchema, body)) }))
    .route('GET', '/v1/link', () => ({ status: 200, body: exports.link.get() ?? { limitMbit: 0 } }))
    .route('PUT', '/v1/link', (_, body) => ({ status: 200, body: exports.setLinkLimit(validateBody(rateSettingSchema, body)) }))
    .route('GET', '/v1/health', () => ({ status: 200, body: { role: 'prem-manager', ok: true } }));
}
