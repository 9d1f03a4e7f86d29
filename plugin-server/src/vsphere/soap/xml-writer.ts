import { FieldInfo, isEnum, isSubtype, methodInfo, typeInfo } from './schema';

export const NS_SOAPENV = 'http://schemas.xmlsoap.org/soap/envelope/';
export const NS_XSD = 'http://www.w3.org/2001/XMLSchema';
export const NS_XSI = 'http://www.w3.org/2001/XMLSchema-instance';
export const NS_VIM25 = 'urn:vim25';
export const NS_PBM = 'urn:pbm';

/**
 * A primitive value in an xsd:anyType position whose XSD type must be explicit
 * (e.g. `{ _type: 'xsd:long', _value: 5 }`); otherwise numbers become xsd:int / xsd:double.
 */
export interface TypedPrimitive {
  _type: string;
  _value: unknown;
}

/** Raised before anything is sent when a request does not fit the vim25 schema. */
export class SoapEncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoapEncodeError';
  }
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v);
}

function isMoRefShape(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v).filter((k) => k !== '_type');
  return keys.length === 2 && typeof v.type === 'string' && typeof v.value === 'string' &&
    (v._type === undefined || v._type === 'ManagedObjectReference');
}

const INT_RANGES: Record<string, [number, number]> = {
  'xsd:byte': [-128, 127],
  'xsd:short': [-32768, 32767],
  'xsd:int': [-2147483648, 2147483647],
  'xsd:long': [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Formats a primitive for an element of XSD type `type`; `where` names the field for errors. */
function formatPrimitive(type: string, v: unknown, where: string): string {
  switch (type) {
    case 'xsd:string':
      if (typeof v !== 'string') throw new SoapEncodeError(`${where}: expected string, got ${typeof v}`);
      return escapeXml(v);
    case 'xsd:boolean':
      if (typeof v !== 'boolean') throw new SoapEncodeError(`${where}: expected boolean, got ${typeof v}`);
      return v ? 'true' : 'false';
    case 'xsd:byte': case 'xsd:short': case 'xsd:int': case 'xsd:long': {
      const n = typeof v === 'bigint' ? Number(v) : v;
      const [lo, hi] = INT_RANGES[type];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < lo || n > hi) {
        throw new SoapEncodeError(`${where}: expected ${type} integer, got ${String(v)}`);
      }
      return String(n);
    }
    case 'xsd:float': case 'xsd:double':
      if (typeof v !== 'number' || Number.isNaN(v)) throw new SoapEncodeError(`${where}: expected number, got ${String(v)}`);
      return v === Infinity ? 'INF' : v === -Infinity ? '-INF' : String(v);
    case 'xsd:dateTime':
      if (v instanceof Date) {
        if (Number.isNaN(v.getTime())) throw new SoapEncodeError(`${where}: invalid Date`);
        return v.toISOString();
      }
      if (typeof v === 'string') return escapeXml(v);
      throw new SoapEncodeError(`${where}: expected Date, got ${typeof v}`);
    case 'xsd:base64Binary':
      if (typeof v === 'string') return escapeXml(v);
      if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
      throw new SoapEncodeError(`${where}: expected Buffer or base64 string`);
    default:
      throw new SoapEncodeError(`${where}: unsupported primitive type ${type}`);
  }
}

/** Picks the XSD type of a value in an xsd:anyType position. */
function inferAnyType(v: unknown, where: string): string {
  if (typeof v === 'string') return 'xsd:string';
  if (typeof v === 'boolean') return 'xsd:boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? (Math.abs(v) <= 2147483647 ? 'xsd:int' : 'xsd:long') : 'xsd:double';
  if (typeof v === 'bigint') return 'xsd:long';
  if (v instanceof Date) return 'xsd:dateTime';
  if (isPlainObject(v)) {
    if (typeof v._type === 'string') return v._type;
    if (isMoRefShape(v)) return 'ManagedObjectReference';
  }
  throw new SoapEncodeError(`${where}: cannot infer the xsi:type of this anyType value; set _type (arrays need an ArrayOfX wrapper)`);
}

/** xsi:type attribute value: vim25 types use the default namespace, XSD types the xsd: prefix. */
function qname(type: string, defaultNs: string): string {
  if (type.startsWith('xsd:')) return type;
  // PBM types (all named Pbm*/ArrayOfPbm*, see gen-vim25.js) live in urn:pbm, the default namespace of PBM requests.
  if (defaultNs === NS_PBM && /^(ArrayOf)?Pbm/.test(type)) return type;
  return defaultNs === NS_VIM25 ? type : `vim25:${type}`;
}

class Writer {
  readonly out: string[] = [];
  constructor(private readonly defaultNs: string) {}

  /** Writes element `name` holding `value` declared as `declared`. */
  element(name: string, declared: string, value: unknown, where: string): void {
    let runtime = declared;
    let xsiType = false;
    let v = value;
    if (declared === 'xsd:anyType') {
      runtime = inferAnyType(v, where);
      xsiType = true;
    } else if (isPlainObject(v) && typeof v._type === 'string' && v._type !== declared) {
      runtime = v._type;
      if (!runtime.startsWith('xsd:') && !isSubtype(runtime, declared)) {
        throw new SoapEncodeError(`${where}: ${runtime} is not a subtype of ${declared}`);
      }
      xsiType = true;
    }
    if (isPlainObject(v) && runtime.startsWith('xsd:') && '_value' in v) v = v._value;
    const attr = xsiType ? ` xsi:type="${qname(runtime, this.defaultNs)}"` : '';

    if (runtime === 'ManagedObjectReference') {
      if (!isPlainObject(v) || typeof v.type !== 'string' || typeof v.value !== 'string') {
        throw new SoapEncodeError(`${where}: expected a ManagedObjectReference {type, value}`);
      }
      this.out.push(`<${name}${attr} type="${escapeXml(v.type)}">${escapeXml(v.value)}</${name}>`);
      return;
    }
    if (runtime.startsWith('xsd:')) {
      this.out.push(`<${name}${attr}>${formatPrimitive(runtime, v, where)}</${name}>`);
      return;
    }
    if (isEnum(runtime)) {
      if (typeof v !== 'string') throw new SoapEncodeError(`${where}: expected ${runtime} string, got ${typeof v}`);
      this.out.push(`<${name}${attr}>${escapeXml(v)}</${name}>`);
      return;
    }
    const info = typeInfo(runtime);
    if (!info) throw new SoapEncodeError(`${where}: unknown vim25 type ${runtime}`);
    if (!isPlainObject(v)) throw new SoapEncodeError(`${where}: expected a ${runtime} object`);
    this.out.push(`<${name}${attr}>`);
    this.fields(runtime, info.fields, info.fieldsByName, v, where);
    this.out.push(`</${name}>`);
  }

  /** Writes the fields of `obj` in schema order, whatever order its keys are in. */
  fields(type: string, fields: readonly FieldInfo[], byName: ReadonlyMap<string, FieldInfo>,
    obj: Record<string, unknown>, where: string): void {
    for (const key of Object.keys(obj)) {
      if (key !== '_type' && !byName.has(key) && obj[key] !== undefined) {
        throw new SoapEncodeError(`${where}: ${type} has no field "${key}"`);
      }
    }
    for (const f of fields) {
      const v = obj[f.name];
      const fwhere = `${where}.${f.name}`;
      if (v === undefined || v === null) {
        if (!f.optional || f.minOne) throw new SoapEncodeError(`${fwhere}: required ${f.type}${f.minOne ? '[]' : ''} is missing`);
        continue;
      }
      if (f.array) {
        const list = Array.isArray(v) ? v : [v];
        if (f.minOne && !list.length) throw new SoapEncodeError(`${fwhere}: ${f.type}[] needs at least one element`);
        list.forEach((item, i) => this.element(f.name, f.type, item, `${fwhere}[${i}]`));
      } else {
        if (Array.isArray(v)) throw new SoapEncodeError(`${fwhere}: ${f.type} is not an array`);
        this.element(f.name, f.type, v, fwhere);
      }
    }
  }
}

/** The SOAP body element of a vim25 method call (`<Method xmlns="urn:vim25">...</Method>`). */
export function serializeBody(method: string, args: object): string {
  const m = methodInfo(method);
  if (!m) throw new SoapEncodeError(`unknown vim25 method ${method}`);
  const info = typeInfo(m.requestType);
  if (!info) throw new SoapEncodeError(`${method}: unknown request type ${m.requestType}`);
  if (!isPlainObject(args)) throw new SoapEncodeError(`${method}: arguments must be an object`);
  const w = new Writer(m.namespace);
  w.out.push(`<${method} xmlns="${m.namespace}">`);
  w.fields(m.requestType, info.fields, info.fieldsByName, args, method);
  w.out.push(`</${method}>`);
  return w.out.join('');
}

/** A complete SOAP 1.1 envelope for `method` with `args`. */
export function serializeRequest(method: string, args: object, header?: Record<string, string>): string {
  // SOAP header elements (unqualified, text only): PBM's vcSessionCookie.
  const head = header && Object.keys(header).length
    ? `<soapenv:Header>${Object.entries(header).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('')}</soapenv:Header>`
    : '';
  return '<?xml version="1.0" encoding="UTF-8"?>' +
    `<soapenv:Envelope xmlns:soapenv="${NS_SOAPENV}" xmlns:xsd="${NS_XSD}" xmlns:xsi="${NS_XSI}" xmlns:vim25="${NS_VIM25}">` +
    `${head}<soapenv:Body>${serializeBody(method, args)}</soapenv:Body></soapenv:Envelope>`;
}
