import manifest from '@manifest';
import { routes } from './app.routes';

interface Extension {
  id?: string;
  navigationId?: string;
  uri?: string;
  labelKey?: string;
  trigger?: { uri?: string; titleKey?: string };
}

/** Every extension point of plugin.json, with its id and uri. */
function extensions(): { id: string; uri: string; keys: string[] }[] {
  const m = manifest as unknown as {
    global?: { view?: Extension };
    objects: Record<string, { menu?: { actions?: Extension[] }; monitor?: { views?: Extension[] } }>;
  };
  const out: { id: string; uri: string; keys: string[] }[] = [];
  if (m.global?.view) out.push({ id: m.global.view.navigationId ?? '', uri: m.global.view.uri ?? '', keys: [] });
  for (const obj of Object.values(m.objects)) {
    for (const a of obj.menu?.actions ?? []) {
      out.push({ id: a.id ?? '', uri: a.trigger?.uri ?? '', keys: [a.labelKey ?? '', a.trigger?.titleKey ?? ''] });
    }
    for (const v of obj.monitor?.views ?? []) out.push({ id: v.id ?? '', uri: v.uri ?? '', keys: [v.labelKey ?? ''] });
  }
  return out;
}

describe('routes vs plugin.json', () => {
  it('has a route for every extension point uri (index.html#/<route>)', () => {
    const paths = routes.map((r) => r.path);
    const exts = extensions();
    expect(exts.map((e) => e.id).sort()).toEqual(['hdm.jobs', 'hdm.vm.migrate', 'hdm.vm.monitor']);
    for (const e of exts) {
      const m = /^index\.html#\/([\w-]+)$/.exec(e.uri);
      expect(m).withContext(e.uri).not.toBeNull();
      expect(paths).withContext(e.id).toContain(m![1]);
    }
  });

  it('lazy-loads one component per extension point', async () => {
    for (const r of routes.filter((x) => x.loadComponent)) {
      const c = await r.loadComponent!();
      expect(c).withContext(r.path ?? '').toBeTruthy();
    }
  });

  it('defines every manifest label key for every declared locale', () => {
    const defs = (manifest as unknown as { definitions: { i18n: { locales: string[]; definitions: Record<string, Record<string, string>> } } })
      .definitions.i18n;
    const keys = [(manifest as unknown as { configuration: { nameKey: string } }).configuration.nameKey];
    for (const e of extensions()) keys.push(...e.keys);
    for (const key of keys) {
      for (const locale of defs.locales) {
        expect(defs.definitions[key]?.[locale]).withContext(`${key} ${locale}`).toBeTruthy();
      }
    }
  });
});
