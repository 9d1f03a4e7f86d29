import { z } from 'zod';

/**
 * Where the appliance services run. In a product install the plugin server deploys
 * appliance VMs from OVF and drives their containers; in the lab (a stand-in) the
 * services run as processes inside the site's network namespace. Configured by
 * HDM_APPLIANCE_RUNTIME (JSON):
 *   {"kind":"process","prem":{"netns":"hdm-prem","ip":"10.99.0.2"},"cloud":{"netns":"hdm-cloud","ip":"10.99.1.2"}}
 * `netns` may be omitted (same namespace as the server, e.g. loopback tests).
 * One cloud-manager serves every configured cloud in this first cut.
 */
const site = z.object({
  netns: z.string().regex(/^[a-z0-9-]{1,32}$/).optional(),
  ip: z.string().min(1),
  controlPort: z.number().int().min(1).max(65535).default(8000),
  dataPort: z.number().int().min(1).max(65535).default(6000),
});

export const applianceRuntimeSchema = z.object({
  kind: z.literal('process'),
  prem: site,
  cloud: site,
});

export type ApplianceRuntimeConfig = z.infer<typeof applianceRuntimeSchema>;
export type SiteConfig = z.infer<typeof site>;

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
