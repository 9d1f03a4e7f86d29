import { z } from 'zod';

/**
 * Where the appliance services run. In a product install the plugin server deploys
 * appliance VMs from OVF and drives their containers; in the lab (a stand-in) the
 * services run as processes inside the site's network namespace. Configured by
 * HDM_APPLIANCE_RUNTIME (JSON):
 *   {"kind":"process","prem":{"netns":"hdm-prem","ip":"10.99.0.2"},"cloud":{"netns":"hdm-cloud","ip":"10.99.1.2"}}
 * `netns` may be omitted (same namespace as the server, e.g. loopback tests).
 * `prem.esxi` adds the Prem ESXi Manager (one per host; in the lab one for the simulated
 * hosts): cold exports then read the VMDKs through it (allocated extents only) instead of NFC.
 * One cloud-manager serves every configured cloud in this first cut.
 */
const site = z.object({
  netns: z.string().regex(/^[a-z0-9-]{1,32}$/).optional(),
  ip: z.string().min(1),
  controlPort: z.number().int().min(1).max(65535).default(8000),
  dataPort: z.number().int().min(1).max(65535).default(7000),
});

const esxi = z.object({
  controlPort: z.number().int().min(1).max(65535).default(5000),
  dataPort: z.number().int().min(1).max(65535).default(12000),
  vmdkReadPort: z.number().int().min(1).max(65535).default(32821),
  vmdkWritePort: z.number().int().min(1).max(65535).default(32822),
  /** Datastore name → directory where the host sees it (`/vmfs/volumes/<ds>` on ESXi). */
  datastores: z.record(z.string().min(1), z.string().min(1)),
});

export const applianceRuntimeSchema = z.object({
  kind: z.literal('process'),
  prem: site.extend({ esxi: esxi.optional() }),
  cloud: site,
});

export type ApplianceRuntimeConfig = z.infer<typeof applianceRuntimeSchema>;
export type SiteConfig = z.infer<typeof site>;
export type EsxiConfig = z.infer<typeof esxi>;

export function parseApplianceRuntime(text: string | undefined): ApplianceRuntimeConfig | undefined {
  if (!text) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('HDM_APPLIANCE_RUNTIME is not JSON');
  }
  const parsed = applianceRuntimeSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`HDM_APPLIANCE_RUNTIME: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
