import { isEnum, methodInfo, typeInfo } from './schema';
import { VimFault } from './vim-fault';
import { scanXml, XmlScanError } from './xml-scanner';
import { NS_SOAPENV, NS_VIM25, NS_XSD, NS_XSI } from './xml-writer';

/** A namespace-resolved element: `xsiType` is already resolved to `xsd:x` or a vim25 type name. */
export interface XmlNode {
  readonly local: string;
  readonly uri: string;
  readonly attrs: Record<string, string>;
  xsiType?: string;
  readonly children: XmlNode[];
  text: string;
}

export class SoapDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SoapDecodeError';
  }
}

/**
 * Parses XML text into a tree, resolving xsi:type by namespace URI whatever its prefix
 * (xml-scanner.ts: a SOAP-sized reader, ~4× faster than saxes on big inventory answers).
 */
export function parseXml(xml: string): XmlNode {
  try {
    return scanXml(xml, NS_XSI, (uri, local) => (uri === NS_XSD ? `xsd:${local}` : local));
  } catch (e) {
    if (e instanceof XmlScanError) throw new SoapDecodeError(`malformed XML: ${e.message}`);
    throw e;
  }
}

function parsePrimitive(type: string, text: string): unknown {
  switch (type) {
    case 'xsd:boolean': return text.trim() === 'true' || text.trim() === '1';
    case 'xsd:byte': case 'xsd:short': case 'xsd:int': case 'xsd:long':
    case 'xsd:float': case 'xsd:double': case 'xsd:unsignedByte': case 'xsd:unsignedShort':
    case 'xsd:unsignedInt': case 'xsd:unsignedLong': case 'xsd:integer': case 'xsd:decimal': {
      const t = text.trim();
      return t === 'INF' ? Infinity : t === '-INF' ? -Infinity : Number(t);
    }
    case 'xsd:dateTime': return new Date(text.trim());
    default: return text; // xsd:string, base64Binary, anyURI, untyped anyType
  }
}

/** Converts `node` into a JS value of `declared` type (polymorphic values get `_type`). */
export function decodeValue(node: XmlNode, declared: string): unknown {
  const runtime = node.xsiType ?? declared;
  if (runtime === 'ManagedObjectReference') return { type: node.attrs.type ?? '', value: node.text };
  if (runtime.startsWith('xsd:')) return parsePrimitive(runtime, node.text);
  if (isEnum(runtime)) return node.text;
  const info = typeInfo(runtime);
  if (!info) {
    // A type newer than our schema: keep what we can.
    return node.children.length ? { _type: runtime, ...decodeUnknown(node) } : node.text;
  }
  const obj: Record<string, unknown> = {};
  if (node.xsiType || runtime !== declared) obj._type = runtime;
  for (const child of node.children) {
    const f = info.fieldsByName.get(child.local);
    if (!f) continue; // a field newer than our schema
    const v = decodeValue(child, f.type);
    if (f.array) ((obj[f.name] ??= []) as unknown[]).push(v);
    else obj[f.name] = v;
  }
  return obj;
}

function decodeUnknown(node: XmlNode): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const c of node.children) {
    const v = c.children.length ? decodeUnknown(c) : c.text;
    const prev = obj[c.local];
    obj[c.local] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return obj;
}

function child(node: XmlNode, local: string, uri?: string): XmlNode | undefined {
  return node.children.find((c) => c.local === local && (uri === undefined || c.uri === uri));
}

/** Turns a `<soapenv:Fault>` element into a VimFault. */
export function decodeFault(fault: XmlNode): VimFault {
  const code = child(fault, 'faultcode')?.text.trim();
  const message = child(fault, 'faultstring')?.text.trim() ?? '';
  const detailEl = child(fault, 'detail')?.children[0];
  let name = 'SystemError';
  let detail: Record<string, unknown> | undefined;
  if (detailEl) {
    name = detailEl.xsiType ?? detailEl.local.replace(/Fault$/, '');
    const decoded = decodeValue(detailEl, name);
    detail = typeof decoded === 'object' && decoded !== null ? decoded as Record<string, unknown> : undefined;
    if (detail) detail._type = name;
  }
  return new VimFault(name, message, detail, code);
}

/**
 * Decodes the response envelope of `method`: returns the returnval (an array when the schema says
 * so, undefined when absent) or throws the SOAP fault as a VimFault.
 */
export function parseResponse(method: string, xml: string): unknown {
  const m = methodInfo(method);
  if (!m) throw new SoapDecodeError(`unknown vim25 method ${method}`);
  const env = parseXml(xml);
  if (env.local !== 'Envelope' || env.uri !== NS_SOAPENV) throw new SoapDecodeError(`not a SOAP envelope: <${env.local}>`);
  const body = child(env, 'Body', NS_SOAPENV);
  const res = body?.children[0];
  if (!res) throw new SoapDecodeError('SOAP body is empty');
  if (res.local === 'Fault' && res.uri === NS_SOAPENV) throw decodeFault(res);
  if (res.local !== `${method}Response`) throw new SoapDecodeError(`expected <${method}Response>, got <${res.local}>`);
  if (!m.returns) return undefined;
  const values = res.children.filter((c) => c.local === 'returnval').map((c) => decodeValue(c, m.returns!.type));
  if (m.returns.array) return values;
  return values[0];
}

export { NS_VIM25 };
