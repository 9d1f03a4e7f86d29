/**
 * Every vAPI REST path HDM uses, in one place (like govmomi's vapi/internal/internal.go). All are
 * relative to the `/rest` root of the vCenter; `{id}` segments are written `id:<id>`.
 * Reference: vSphere Automation API, "content" and "vcenter.ovf" packages (the /rest flavour,
 * whose answers are wrapped as `{"value": ...}`).
 */
export const REST_ROOT = '/rest';
export const SESSION = '/com/vmware/cis/session';
export const LOCAL_LIBRARY = '/com/vmware/content/local-library';
export const LIBRARY = '/com/vmware/content/library';
export const LIBRARY_ITEM = '/com/vmware/content/library/item';
export const UPDATE_SESSION = '/com/vmware/content/library/item/update-session';
export const UPDATE_SESSION_FILE = '/com/vmware/content/library/item/updatesession/file';
export const OVF_LIBRARY_ITEM = '/com/vmware/vcenter/ovf/library-item';
/** Header (and cookie) carrying the vAPI session id. */
export const SESSION_HEADER = 'vmware-api-session-id';

/** `<base>/id:<id>` with the id URL-encoded. */
export function byId(base: string, id: string): string {
  return `${base}/id:${encodeURIComponent(id)}`;
}
export const TAG_CATEGORY = '/com/vmware/cis/tagging/category';
export const TAG = '/com/vmware/cis/tagging/tag';
export const TAG_ASSOCIATION = '/com/vmware/cis/tagging/tag-association';
