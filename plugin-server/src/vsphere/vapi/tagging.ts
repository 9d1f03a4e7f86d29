import { ManagedObjectReference } from '../generated';
import { byId, TAG, TAG_ASSOCIATION, TAG_CATEGORY } from './paths';
import { VapiClient } from './rest-client';

export interface TagInfo {
  id: string;
  name: string;
  categoryId: string;
  description?: string;
}

interface RawTag { id: string; name: string; category_id: string; description?: string }
const objectId = (ref: ManagedObjectReference) => ({ type: ref.type, id: ref.value });

/**
 * Tagging: vSphere tags over vAPI REST (`cis/tagging`): categories, tags, and their attachment
 * to inventory objects. Tags are not vim25 properties, so no WaitForUpdatesEx reports them:
 * InventoryCache reads them on fill and on refreshTags().
 */
export class Tagging {
  private readonly names = new Map<string, TagInfo>();

  constructor(readonly vapi: VapiClient) {}

  /** A category (`MULTIPLE` cardinality unless told); returns its id. */
  createCategory(name: string, opts: { cardinality?: 'SINGLE' | 'MULTIPLE'; associableTypes?: string[]; description?: string } = {}): Promise<string> {
    return this.vapi.call<string>({
      method: 'POST', path: TAG_CATEGORY,
      body: { create_spec: { name, description: opts.description ?? '', cardinality: opts.cardinality ?? 'MULTIPLE', associable_types: opts.associableTypes ?? [] } },
    });
  }

  createTag(name: string, categoryId: string, description = ''): Promise<string> {
    return this.vapi.call<string>({ method: 'POST', path: TAG, body: { create_spec: { name, category_id: categoryId, description } } });
  }

  async listTags(): Promise<string[]> {
    return (await this.vapi.call<string[] | null>({ method: 'GET', path: TAG })) ?? [];
  }

  /** The tag (names are cached: tags are renamed rarely). */
  async getTag(id: string): Promise<TagInfo> {
    const hit = this.names.get(id);
    if (hit) return hit;
    const t = await this.vapi.call<RawTag>({ method: 'GET', path: byId(TAG, id) });
    const info = { id: t.id, name: t.name, categoryId: t.category_id, description: t.description };
    this.names.set(id, info);
    return info;
  }

  async attach(tagId: string, ref: ManagedObjectReference): Promise<void> {
    await this.vapi.call({ method: 'POST', path: byId(TAG_ASSOCIATION, tagId), query: { '~action': 'attach' }, body: { object_id: objectId(ref) } });
  }

  async detach(tagId: string, ref: ManagedObjectReference): Promise<void> {
    await this.vapi.call({ method: 'POST', path: byId(TAG_ASSOCIATION, tagId), query: { '~action': 'detach' }, body: { object_id: objectId(ref) } });
  }

  /** Tag ids attached to each of `refs` (one call): moid → tag ids. */
  async attachedTags(refs: ManagedObjectReference[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!refs.length) return out;
    const res = await this.vapi.call<Array<{ object_id: { type: string; id: string }; tag_ids?: string[] | null }> | null>({
      method: 'POST', path: TAG_ASSOCIATION, query: { '~action': 'list-attached-tags-on-objects' }, body: { object_ids: refs.map(objectId) },
    });
    for (const r of res ?? []) out.set(r.object_id.id, r.tag_ids ?? []);
    return out;
  }
}
