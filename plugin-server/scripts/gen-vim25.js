#!/usr/bin/env node
'use strict';
/**
 * gen-vim25.js — generates plugin-server/src/vsphere/generated/ from govmomi's vim25 definitions.
 *
 * Input (Debian package golang-github-vmware-govmomi-dev), read as Go source text, never executed:
 *   vim25/types/types.go    struct declarations: embedded base type first, then fields in XSD order
 *                           with their xml tags (omitempty = minOccurs 0, typeattr = polymorphic)
 *   vim25/types/enum.go     `type X string` + `const ( XFoo = X("foo") )`
 *   vim25/methods/methods.go one `func Method(ctx, r, req *types.Method) (*types.MethodResponse, error)` per method
 *   pbm/types/{types,enum}.go, pbm/methods/methods.go   the same for PBM (namespace urn:pbm)
 *
 * Output (git-ignored, never edited by hand; same input → byte-identical output):
 *   generated/schema.ts   SCHEMA: every data type → { base, fields } with inherited fields first;
 *                         ENUMS: enum names → values; METHODS: method → request type + returnval
 *   generated/types.ts    TypeScript interfaces for the types reachable from USED_METHODS,
 *                         enum string unions, and the VimMethods map that types VimClient.invoke
 *   generated/index.ts    re-exports
 *
 * To use another vSphere method, add it to USED_METHODS below and rebuild; the schema tables
 * already cover every type and method.
 */
const fs = require('fs');
const path = require('path');

/** The methods HDM calls. The typed surface (interfaces + VimMethods) is the closure of these. */
const USED_METHODS = [
  'Login', 'Logout', 'RetrieveServiceContent', 'SessionIsActive', 'AcquireCloneTicket', 'CloneSession',
  'RetrievePropertiesEx', 'ContinueRetrievePropertiesEx', 'CancelRetrievePropertiesEx', 'RetrieveProperties',
  'WaitForUpdatesEx', 'CreateFilter', 'DestroyPropertyFilter', 'CreatePropertyCollector', 'DestroyPropertyCollector',
  'CreateContainerView', 'DestroyView',
  'RegisterExtension', 'FindExtension', 'UpdateExtension', 'UnregisterExtension',
  'CreateTask', 'SetTaskState', 'UpdateProgress', 'SetTaskDescription', 'CancelTask',
  'PostEvent', 'QueryEvents', 'CreateCollectorForEvents', 'ReadNextEvents', 'ReadPreviousEvents', 'DestroyCollector',
  'PowerOnVM_Task', 'PowerOffVM_Task', 'ReconfigVM_Task', 'Destroy_Task', 'CreateVM_Task',
  'ExportVm', 'ImportVApp', 'HttpNfcLeaseComplete', 'HttpNfcLeaseAbort', 'HttpNfcLeaseProgress',
  'HttpNfcLeaseGetManifest', 'CreateImportSpec', 'DisableMethods', 'EnableMethods', 'HasPrivilegeOnEntities',
  'CreateSnapshot_Task', 'RemoveSnapshot_Task', 'QueryChangedDiskAreas',
  'StartProgramInGuest', 'ListProcessesInGuest', 'TerminateProcessInGuest', 'ReadEnvironmentVariableInGuest',
  'InitiateFileTransferToGuest', 'InitiateFileTransferFromGuest', 'MakeDirectoryInGuest', 'DeleteFileInGuest',
  'DeleteDirectoryInGuest', 'CreateTemporaryDirectoryInGuest', 'ListFilesInGuest',
  'ParseDescriptor', 'AcquireGenericServiceTicket',
  // Alarms, VAIO filters, and storage policies (PBM: namespace urn:pbm on /pbm, see pbm/ below).
  'CreateAlarm', 'GetAlarm', 'RemoveAlarm', 'ReconfigureAlarm', 'AcknowledgeAlarm', 'GetAlarmState',
  'InstallIoFilter_Task', 'UninstallIoFilter_Task', 'QueryIoFilterInfo',
  'PbmRetrieveServiceContent', 'PbmCreate', 'PbmUpdate', 'PbmDelete', 'PbmQueryProfile', 'PbmRetrieveContent',
  'PbmQueryAssociatedProfile', 'PbmQueryAssociatedProfiles', 'PbmQueryAssociatedEntity', 'PbmCheckCompliance',
];

/** Types the typed surface needs although no used method declares them (subtypes passed via _type). */
const EXTRA_TYPES = [
  'EventAlarmExpression', 'OrAlarmExpression', 'AlarmInfo', 'AlarmState', 'DuplicateName', 'VirtualMachineDefinedProfileSpec',
  'VirtualMachineEmptyProfileSpec', 'PbmCapabilityProfile', 'PbmCapabilitySubProfileConstraints', 'PbmDuplicateName',
  'PbmFaultNotFound',
  'TraversalSpec', 'EventEx', 'ExtendedEvent', 'TaskEvent', 'GeneralUserEvent', 'ExtendedDescription',
  'TaskReasonUser', 'TaskReasonSystem', 'TaskReasonSchedule', 'TaskReasonAlarm',
  'ArrayOfString', 'ArrayOfManagedObjectReference', 'ArrayOfInt', 'ArrayOfLong', 'ArrayOfBoolean',
  'VirtualDisk', 'VirtualDiskFlatVer2BackingInfo', 'VirtualE1000', 'VirtualVmxnet3',
  'VirtualEthernetCardNetworkBackingInfo', 'VirtualLsiLogicController', 'VirtualPCIController',
  'InvalidLogin', 'NotAuthenticated', 'NoPermission', 'InvalidState', 'InvalidArgument', 'NotFound',
  'InvalidRequest', 'ManagedObjectNotFound', 'InvalidPowerState', 'TaskInProgress', 'SystemError',
  'InvalidType', 'MethodNotFound', 'NotSupported', 'AlreadyExists', 'InvalidName', 'RequestCanceled',
  // Property values read by objects/ (inventory, VM config, leases, datastores).
  'VirtualMachineConfigInfo', 'VirtualMachineSnapshotInfo', 'HttpNfcLeaseInfo', 'DatastoreSummary',
  'VirtualEthernetCard', 'VirtualE1000e', 'VirtualVmxnet2', 'VirtualPCNet32', 'VirtualSriovEthernetCard',
  'VirtualEthernetCardDistributedVirtualPortBackingInfo', 'VirtualEthernetCardOpaqueNetworkBackingInfo',
  'VirtualDiskSparseVer2BackingInfo', 'VirtualDiskSeSparseBackingInfo', 'VirtualDiskRawDiskMappingVer1BackingInfo',
  'VirtualMachineImportSpec', 'OvfNetworkMapping', 'HttpNfcLeaseDeviceUrl', 'HttpNfcLeaseState', 'NotImplemented',
  'MethodDisabled', 'SessionManagerHttpServiceRequestSpec', 'SessionManagerVmomiServiceRequestSpec',
  // Guest operations (objects/guest-operations-manager.ts) and CBT.
  'NamePasswordAuthentication', 'GuestPosixFileAttributes', 'GuestWindowsFileAttributes', 'GuestProgramSpec',
  'InvalidGuestLogin', 'GuestOperationsUnavailable', 'GuestProcessNotFound', 'FileFault', 'FileNotFound',
  'FileAlreadyExists', 'GuestPermissionDenied',
];

const GOVMOMI = process.env.GOVMOMI_DIR || '/usr/share/gocode/src/github.com/vmware/govmomi';
const OUT = process.env.GEN_VIM25_OUT || path.join(__dirname, '..', 'src', 'vsphere', 'generated');

const GO_PRIMITIVES = {
  string: 'xsd:string', bool: 'xsd:boolean', byte: 'xsd:byte', int16: 'xsd:short', int32: 'xsd:int',
  int64: 'xsd:long', float32: 'xsd:float', float64: 'xsd:double', 'time.Time': 'xsd:dateTime',
  AnyType: 'xsd:anyType',
};
const TS_PRIMITIVES = {
  'xsd:string': 'string', 'xsd:boolean': 'boolean', 'xsd:byte': 'number', 'xsd:short': 'number',
  'xsd:int': 'number', 'xsd:long': 'number', 'xsd:float': 'number', 'xsd:double': 'number',
  'xsd:dateTime': 'Date', 'xsd:anyType': 'unknown', 'xsd:base64Binary': 'string',
};

function read(rel) {
  return fs.readFileSync(path.join(GOVMOMI, rel), 'utf8');
}

/** Parses `type X struct { ... }` blocks into { name → { base, fields } } (fields in source = XSD order). */
function parseStructs(src) {
  const structs = new Map();
  const aliases = new Map();
  const re = /^type (\w+) struct \{\n([\s\S]*?)^\}/gm;
  let m;
  while ((m = re.exec(src))) {
    const [, name, body] = m;
    let base = null;
    const fields = [];
    for (const raw of body.split('\n')) {
      const line = raw.trim();
      if (!line) continue;
      const emb = /^([A-Z]\w*)$/.exec(line);
      if (emb) {
        if (base || fields.length) throw new Error(`${name}: unexpected embedded ${line}`);
        base = emb[1];
        continue;
      }
      const f = /^(\w+)\s+(\S+)\s+`xml:"([^"]*)"`$/.exec(line);
      if (!f) throw new Error(`${name}: cannot parse field line: ${line}`);
      const [, , goType, tag] = f;
      const [xmlName, ...opts] = tag.split(',');
      fields.push({ goName: f[1], xmlName, goType, opts });
    }
    structs.set(name, { base, fields });
  }
  const aliasRe = /^type (\w+) (\w+)$/gm;
  while ((m = aliasRe.exec(src))) aliases.set(m[1], m[2]);
  return { structs, aliases };
}

function parseEnums(src) {
  const enums = new Map();
  const typeRe = /^type (\w+) string$/gm;
  let m;
  while ((m = typeRe.exec(src))) enums.set(m[1], []);
  const valRe = /^\s+\w+\s*=\s*(\w+)\("([^"]*)"\)$/gm;
  while ((m = valRe.exec(src))) {
    const list = enums.get(m[1]);
    if (!list) throw new Error(`enum value for unknown enum ${m[1]}`);
    list.push(m[2]);
  }
  return enums;
}

function parseMethods(src) {
  const methods = [];
  const re = /^func (\w+)\(ctx context\.Context, r soap\.RoundTripper, req \*types\.(\w+)\) \(\*types\.(\w+), error\)/gm;
  let m;
  while ((m = re.exec(src))) methods.push({ name: m[1], reqType: m[2], resType: m[3] });
  return methods;
}

const typesSrc = read('vim25/types/types.go');
const { structs, aliases } = parseStructs(typesSrc);
const enums = parseEnums(read('vim25/types/enum.go'));
const goMethods = parseMethods(read('vim25/methods/methods.go'));

// Internal methods (namespace urn:internalvim25) that govmomi declares by hand beside its object
// wrappers: DisableMethods/EnableMethods on AuthorizationManager.
const INTERNAL = { DisableMethods: 'disableMethodsRequest', EnableMethods: 'enableMethodsRequest' };
const internalSrc = read('object/authorization_manager_internal.go').replace(/types\./g, '');
const internal = parseStructs(internalSrc).structs;
const internalMethods = [];
for (const [method, goName] of Object.entries(INTERNAL)) {
  const s = internal.get(goName);
  if (!s) throw new Error(`internal request ${goName} not found`);
  structs.set(`${method}RequestType`, s);
  internalMethods.push(method);
}
structs.set('DisabledMethodRequest', internal.get('DisabledMethodRequest'));

// PBM (SPBM, namespace urn:pbm, endpoint /pbm): govmomi's pbm/types, pbm/types/enum.go and
// pbm/methods, parsed the same way into the same tables. Its Go source names vim25 types
// `types.X`; every PBM type name starts with Pbm or ArrayOfPbm (the writer's xsi:type relies on it).
const pbmTypes = parseStructs(read('pbm/types/types.go').replace(/\btypes\./g, ''));
for (const [name, s] of pbmTypes.structs) {
  if (structs.has(name)) throw new Error(`pbm type ${name} collides with a vim25 type`);
  structs.set(name, s);
}
for (const [name, target] of pbmTypes.aliases) aliases.set(name, target);
for (const [name, values] of parseEnums(read('pbm/types/enum.go'))) enums.set(name, values);
for (const m of parseMethods(read('pbm/methods/methods.go'))) goMethods.push({ ...m, ns: 'urn:pbm' });

/** Interfaces `BaseX` stand for "X or any subtype of X". */
function resolveGoType(goType, owner) {
  let t = goType;
  let array = false;
  let pointer = false;
  if (t === '[][]byte') return { type: 'xsd:base64Binary', array: true, pointer: false };
  if (t === '[]byte') return { type: 'xsd:byte', array: true, pointer: false };
  if (t.startsWith('[]')) { array = true; t = t.slice(2); }
  if (t.startsWith('*')) { pointer = true; t = t.slice(1); }
  let type;
  if (GO_PRIMITIVES[t]) type = GO_PRIMITIVES[t];
  else if (enums.has(t)) type = t;
  else if (structs.has(t)) type = t;
  else if (/^Base\w+$/.test(t) && structs.has(t.slice(4))) type = t.slice(4);
  else throw new Error(`${owner}: unknown Go type ${goType}`);
  return { type, array, pointer };
}

// Request types are aliases: `type PowerOnVM_Task PowerOnVMRequestType`.
const methodResponses = new Set(goMethods.map((m) => m.resType));
const METHODS = {};
for (const m of goMethods.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
  let req = m.reqType;
  while (aliases.has(req)) req = aliases.get(req);
  if (!structs.has(req)) throw new Error(`${m.name}: request type ${req} not found`);
  const res = structs.get(m.resType);
  if (!res) throw new Error(`${m.name}: response type ${m.resType} not found`);
  let returns = null;
  if (res.fields.length) {
    const f = res.fields[0];
    const r = resolveGoType(f.goType, m.resType);
    returns = { type: r.type, array: r.array, optional: r.array || r.pointer || f.opts.includes('omitempty') };
  }
  METHODS[m.name] = { request: req, returns, ...(m.ns ? { ns: m.ns } : {}) };
}
for (const name of internalMethods) METHODS[name] = { request: `${name}RequestType`, returns: null, ns: 'urn:internalvim25' };

// Schema: every struct except method response wrappers; fields flattened, inherited first.
const SCHEMA = {};
const typeNames = [...structs.keys()].filter((n) => !methodResponses.has(n)).sort();
function ownFields(name) {
  return structs.get(name).fields.map((f) => {
    const r = resolveGoType(f.goType, name);
    const optional = r.array || r.pointer || f.opts.includes('omitempty');
    const field = { name: f.xmlName, type: r.type, array: r.array, optional };
    if (f.opts.includes('typeattr')) field.poly = true;
    // A slice without omitempty is minOccurs 1 (e.g. PropertyFilterSpec.propSet, PbmCheckCompliance.entities).
    if (r.array && !r.pointer && !f.opts.includes('omitempty')) field.minOne = true;
    if (f.opts.includes('attr')) field.attr = true;
    if (f.opts.includes('chardata')) field.text = true;
    return field;
  });
}
function allFields(name) {
  const s = structs.get(name);
  return [...(s.base ? allFields(s.base) : []), ...ownFields(name)];
}
for (const name of typeNames) {
  const s = structs.get(name);
  if (s.base && !structs.has(s.base)) throw new Error(`${name}: unknown base ${s.base}`);
  SCHEMA[name] = { base: s.base, fields: allFields(name) };
}
const ENUMS = {};
for (const name of [...enums.keys()].sort()) ENUMS[name] = enums.get(name);

// Typed surface: closure of the used methods' request/return types (+ bases + EXTRA_TYPES).
const closure = new Set();
function visit(t) {
  if (t.startsWith('xsd:') || closure.has(t)) return;
  closure.add(t);
  if (enums.has(t)) return;
  const s = SCHEMA[t];
  if (!s) throw new Error(`closure: unknown type ${t}`);
  if (s.base) visit(s.base);
  for (const f of s.fields) visit(f.type);
}
for (const m of USED_METHODS) {
  const info = METHODS[m];
  if (!info) throw new Error(`USED_METHODS: unknown method ${m}`);
  visit(info.request);
  if (info.returns) visit(info.returns.type);
}
for (const t of EXTRA_TYPES) visit(t);

function tsType(f) {
  const base = TS_PRIMITIVES[f.type] || f.type;
  return f.array ? `${base}[]` : base;
}

const HEADER = '// GENERATED by plugin-server/scripts/gen-vim25.js from govmomi vim25 definitions. Do not edit.\n';
const sortedClosure = [...closure].sort();
let types = HEADER + '/* eslint-disable */\n\n';
types += 'export interface ManagedObjectReference {\n  type: string;\n  value: string;\n}\n\n';
for (const t of sortedClosure) {
  if (t === 'ManagedObjectReference') continue;
  if (enums.has(t)) {
    const vals = enums.get(t);
    types += `export type ${t} = ${vals.length ? vals.map((v) => JSON.stringify(v)).join(' | ') : 'string'};\n\n`;
    continue;
  }
  const s = structs.get(t);
  const own = ownFields(t);
  types += `export interface ${t}${s.base ? ` extends ${s.base}` : ''} {\n`;
  if (!s.base) types += '  /** Runtime vSphere type when it differs from the declared one (becomes xsi:type). */\n  _type?: string;\n';
  for (const f of own) types += `  ${f.name}${f.optional ? '?' : ''}: ${tsType(f)};\n`;
  types += '}\n\n';
}
types += '/** Typed argument/return of each used method (VimClient.invoke). */\nexport interface VimMethods {\n';
for (const m of [...USED_METHODS].sort()) {
  const info = METHODS[m];
  const ret = info.returns ? tsType(info.returns) + (info.returns.optional && !info.returns.array ? ' | undefined' : '') : 'void';
  types += `  ${m}: { args: ${info.request}; returns: ${ret} };\n`;
}
types += '}\n\nexport type VimMethodName = keyof VimMethods;\n';
types += `\nexport const USED_METHODS: readonly VimMethodName[] = ${JSON.stringify([...USED_METHODS].sort())};\n`;

// The schema is embedded as one JSON string: tsc handles a big literal far faster than a big object type.
const compactSchema = {};
for (const [name, s] of Object.entries(SCHEMA)) {
  // field tuple: [name, type, flags] flags: 1 array, 2 optional, 4 polymorphic, 8 attribute, 16 text, 32 array of at least one
  compactSchema[name] = [s.base, s.fields.map((f) => [f.name, f.type,
    (f.array ? 1 : 0) | (f.optional ? 2 : 0) | (f.poly ? 4 : 0) | (f.attr ? 8 : 0) | (f.text ? 16 : 0) | (f.minOne ? 32 : 0)])];
}
const compactMethods = {};
for (const [name, m] of Object.entries(METHODS)) {
  compactMethods[name] = [m.request, m.returns ? m.returns.type : null,
    m.returns ? (m.returns.array ? 1 : 0) | (m.returns.optional ? 2 : 0) : 0, ...(m.ns ? [m.ns] : [])];
}
let schema = HEADER;
schema += `/** Types: name → [base, [[field, type, flags], ...]] with inherited fields first (flags: 1 array, 2 optional, 4 polymorphic, 8 attribute, 16 text, 32 array of at least one). */\n`;
schema += `export const SCHEMA_JSON = ${JSON.stringify(JSON.stringify(compactSchema))};\n\n`;
schema += `/** Enums: name → values. */\nexport const ENUMS_JSON = ${JSON.stringify(JSON.stringify(ENUMS))};\n\n`;
schema += `/** Methods: name → [requestType, returnType|null, flags (1 array, 2 optional), namespace?]. */\nexport const METHODS_JSON = ${JSON.stringify(JSON.stringify(compactMethods))};\n`;

const index = HEADER + "export * from './types';\nexport * from './schema';\n";

fs.mkdirSync(OUT, { recursive: true });
function write(file, text) {
  const p = path.join(OUT, file);
  if (fs.existsSync(p) && fs.readFileSync(p, 'utf8') === text) return;
  fs.writeFileSync(p, text);
}
write('types.ts', types);
write('schema.ts', schema);
write('index.ts', index);
console.log(`gen-vim25: ${Object.keys(SCHEMA).length} types, ${Object.keys(ENUMS).length} enums, ` +
  `${Object.keys(METHODS).length} methods; typed surface ${closure.size} types for ${USED_METHODS.length} methods → ${path.relative(process.cwd(), OUT)}`);
