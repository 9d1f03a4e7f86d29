import { isEnum, enumValues, typeInfo } from '../../src/vsphere/soap/schema';
import { SCHEMA_JSON } from '../../src/vsphere/generated/schema';

let subtypes: Map<string, string[]> | undefined;

/** Direct and indirect subtypes of `type`, sorted (derived from the generated schema table). */
export function subtypesOf(type: string): string[] {
  if (!subtypes) {
    subtypes = new Map();
    const raw = JSON.parse(SCHEMA_JSON) as Record<string, [string | null, unknown]>;
    for (const name of Object.keys(raw).sort()) {
      let base = raw[name][0];
      while (base) {
        subtypes.set(base, [...(subtypes.get(base) ?? []), name]);
        base = raw[base]?.[0] ?? null;
      }
    }
  }
  return subtypes.get(type) ?? [];
}

/** Deterministic pseudo-random source so samples are stable run to run. */
export class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s * 1103515245 + 12345) & 0x7fffffff;
    return this.s;
  }
  pick<T>(list: readonly T[]): T {
    return list[this.next() % list.length];
  }
}

/** Reverses and rotates the keys of an object (recursively) so key order never matches the schema. */
export function scramble(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scramble);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const entries = Object.entries(v).reverse();
    if (entries.length > 2) entries.push(entries.shift()!);
    return Object.fromEntries(entries.map(([k, x]) => [k, scramble(x)]));
  }
  return v;
}

/**
 * A sample value of `type`: every required field, optional fields down to `depth`, arrays of two,
 * and (when `poly`) sometimes a subtype tagged with `_type` so xsi:type gets exercised.
 */
export function sampleValue(type: string, rng: Rng, depth: number, poly = false): unknown {
  switch (type) {
    case 'xsd:string': return `s<&>"'${rng.next() % 100}`;
    case 'xsd:boolean': return rng.next() % 2 === 0;
    case 'xsd:byte': return (rng.next() % 200) - 100;
    case 'xsd:short': case 'xsd:int': return rng.next() % 100000;
    case 'xsd:long': return 2 ** 40 + (rng.next() % 1000);
    case 'xsd:float': case 'xsd:double': return (rng.next() % 1000) / 8;
    case 'xsd:dateTime': return new Date(Date.UTC(2026, 0, 1, 0, 0, rng.next() % 1000));
    case 'xsd:base64Binary': return Buffer.from('hdm').toString('base64');
    case 'xsd:anyType': return `any${rng.next() % 10}`;
    case 'ManagedObjectReference': return { type: 'VirtualMachine', value: `vm-${rng.next() % 100}` };
  }
  if (isEnum(type)) return rng.pick(enumValues(type)!.length ? enumValues(type)! : ['x']);
  let actual = type;
  if (poly) {
    const subs = subtypesOf(type).filter((s) => !s.startsWith('ArrayOf'));
    if (subs.length && rng.next() % 2 === 0) actual = rng.pick(subs);
  }
  const info = typeInfo(actual);
  if (!info) throw new Error(`no schema for ${actual}`);
  const obj: Record<string, unknown> = {};
  if (actual !== type) obj._type = actual;
  for (const f of info.fields) {
    const required = !f.optional || f.minOne;
    if (!required && depth <= 0) continue;
    if (!required && rng.next() % 4 === 0) continue;
    const one = (): unknown => sampleValue(f.type, rng, depth - 1, f.poly);
    obj[f.name] = f.array ? [one(), one()] : one();
  }
  return obj;
}
