import { ENUMS_JSON, METHODS_JSON, SCHEMA_JSON } from '../generated/schema';

/** One element of a data type, in XSD order (inherited fields come first). */
export interface FieldInfo {
  readonly name: string;
  /** vim25 type name, enum name, `ManagedObjectReference`, or an `xsd:` primitive (`xsd:anyType` = any). */
  readonly type: string;
  readonly array: boolean;
  readonly optional: boolean;
  /** Declared as a base type (`typeattr` in govmomi): subtypes are allowed and carry xsi:type. */
  readonly poly: boolean;
  /** An array of at least one element (minOccurs 1): `optional` stays true for arrays, the writer checks this. */
  readonly minOne: boolean;
}

export interface TypeInfo {
  readonly name: string;
  readonly base: string | null;
  readonly fields: readonly FieldInfo[];
  readonly fieldsByName: ReadonlyMap<string, FieldInfo>;
}

export interface MethodInfo {
  readonly name: string;
  readonly requestType: string;
  readonly returns: { readonly type: string; readonly array: boolean; readonly optional: boolean } | null;
  /** XML namespace of the request element: `urn:vim25`, or `urn:internalvim25` for internal methods. */
  readonly namespace: string;
}

type CompactField = [string, string, number];
type CompactType = [string | null, CompactField[]];
type CompactMethod = [string, string | null, number, string?];

let types: Record<string, CompactType> | undefined;
let enums: Record<string, string[]> | undefined;
let methods: Record<string, CompactMethod> | undefined;
const typeCache = new Map<string, TypeInfo>();

function rawTypes(): Record<string, CompactType> {
  return (types ??= JSON.parse(SCHEMA_JSON) as Record<string, CompactType>);
}

/** The schema entry of a vim25 data type, or undefined when `name` is not a data type. */
export function typeInfo(name: string): TypeInfo | undefined {
  const cached = typeCache.get(name);
  if (cached) return cached;
  const raw = rawTypes()[name];
  if (!raw) return undefined;
  const fields = raw[1].map(([fname, type, flags]) => ({
    name: fname,
    type,
    array: (flags & 1) !== 0,
    optional: (flags & 2) !== 0,
    poly: (flags & 4) !== 0,
    minOne: (flags & 32) !== 0,
  }));
  const info: TypeInfo = { name, base: raw[0], fields, fieldsByName: new Map(fields.map((f) => [f.name, f])) };
  typeCache.set(name, info);
  return info;
}

export function isEnum(name: string): boolean {
  return Object.prototype.hasOwnProperty.call((enums ??= JSON.parse(ENUMS_JSON) as Record<string, string[]>), name);
}

export function enumValues(name: string): readonly string[] | undefined {
  return isEnum(name) ? enums![name] : undefined;
}

/** True when `type` is `base` or derives from it (every type derives from xsd:anyType). */
export function isSubtype(type: string, base: string): boolean {
  if (base === 'xsd:anyType' || type === base) return true;
  let t = typeInfo(type);
  while (t?.base) {
    if (t.base === base) return true;
    t = typeInfo(t.base);
  }
  return false;
}

export function methodInfo(name: string): MethodInfo | undefined {
  methods ??= JSON.parse(METHODS_JSON) as Record<string, CompactMethod>;
  if (!Object.prototype.hasOwnProperty.call(methods, name)) return undefined;
  const [requestType, ret, flags, ns] = methods[name];
  return {
    name,
    requestType,
    returns: ret ? { type: ret, array: (flags & 1) !== 0, optional: (flags & 2) !== 0 } : null,
    namespace: ns ?? 'urn:vim25',
  };
}
