import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { USED_METHODS } from '../generated';
import { Rng, sampleValue, scramble } from '../../../test/support/vim-samples';
import { methodInfo, typeInfo } from './schema';
import { decodeValue, parseXml, XmlNode } from './xml-parser';
import { serializeBody, serializeRequest, SoapEncodeError } from './xml-writer';

/** How many xsi:type attributes the golden requests carried (the samples must exercise subtypes). */
let xsiTypes = 0;
function countXsi(n: XmlNode): void {
  if (n.xsiType) xsiTypes++;
  n.children.forEach(countXsi);
}

/**
 * Checks that `node` (declared `declared`) lists its children exactly in schema order: each child
 * names a field, fields appear in schema order (inherited first), arrays as consecutive repeats.
 */
function assertSchemaOrder(node: XmlNode, declared: string, where: string): void {
  const type = node.xsiType ?? declared;
  if (type === 'ManagedObjectReference') {
    assert.ok(node.attrs.type, `${where}: MoRef without type attribute`);
    return;
  }
  const info = typeInfo(type);
  if (!info) return; // primitive or enum
  let cursor = 0;
  let last: string | undefined;
  for (const child of node.children) {
    const idx = info.fields.findIndex((f) => f.name === child.local);
    assert.ok(idx >= 0, `${where}: <${child.local}> is not a field of ${type}`);
    if (child.local === last) {
      assert.ok(info.fields[idx].array, `${where}: ${child.local} repeated but not an array`);
    } else {
      assert.ok(idx >= cursor, `${where}: <${child.local}> out of order in ${type} (expected after ${info.fields[cursor - 1]?.name})`);
      cursor = idx + 1;
    }
    last = child.local;
    assertSchemaOrder(child, info.fields[idx].type, `${where}.${child.local}`);
  }
  for (const f of info.fields) {
    if (!f.optional || f.minOne) assert.ok(node.children.some((c) => c.local === f.name), `${where}: required ${type}.${f.name} missing`);
  }
}

/** Removes `undefined` members so decoded values compare with deepEqual. */
function clean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clean);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, clean(x)]));
  }
  return v;
}

describe('xml-writer golden: every used method', () => {
  for (const method of USED_METHODS) {
    it(`${method}: scrambled keys serialise in schema order and round-trip`, () => {
      const m = methodInfo(method)!;
      for (let seed = 1; seed <= 5; seed++) {
        const args = sampleValue(m.requestType, new Rng(seed * 7919 + method.length), 3) as Record<string, unknown>;
        const env = parseXml(serializeRequest(method, scramble(args) as object));
        const root = env.children[0].children[0];
        assert.equal(root.local, method);
        assert.equal(root.uri, m.namespace);
        assertSchemaOrder(root, m.requestType, method);
        countXsi(root);
        assert.deepEqual(clean(decodeValue(root, m.requestType)), clean(args));
      }
    });
  }
});

describe('xml-writer golden: coverage', () => {
  it('the samples above exercised xsi:type on polymorphic values', () => {
    assert.ok(xsiTypes > 20, `only ${xsiTypes} xsi:type attributes`);
  });
});

describe('xml-writer golden: literal envelopes', () => {
  it('RetrievePropertiesEx with TraversalSpec gets xsi:type and schema order', () => {
    const body = serializeBody('RetrievePropertiesEx', {
      options: { maxObjects: 2 },
      specSet: [{
        objectSet: [{
          selectSet: [
            { path: 'view', type: 'ContainerView', skip: false, name: 'tv', _type: 'TraversalSpec',
              selectSet: [{ name: 'other' }] },
          ],
          skip: true,
          obj: { value: 'session[52b1]/view-1', type: 'ContainerView' },
        }],
        propSet: [{ pathSet: ['name', 'runtime.powerState'], all: false, type: 'VirtualMachine' }],
      }],
      _this: { type: 'PropertyCollector', value: 'propertyCollector' },
    });
    assert.equal(body,
      '<RetrievePropertiesEx xmlns="urn:vim25">' +
      '<_this type="PropertyCollector">propertyCollector</_this>' +
      '<specSet>' +
      '<propSet><type>VirtualMachine</type><all>false</all><pathSet>name</pathSet><pathSet>runtime.powerState</pathSet></propSet>' +
      '<objectSet><obj type="ContainerView">session[52b1]/view-1</obj><skip>true</skip>' +
      '<selectSet xsi:type="TraversalSpec"><name>tv</name><type>ContainerView</type><path>view</path><skip>false</skip>' +
      '<selectSet><name>other</name></selectSet></selectSet></objectSet>' +
      '</specSet>' +
      '<options><maxObjects>2</maxObjects></options>' +
      '</RetrievePropertiesEx>');
  });

  it('RegisterExtension: Extension and ExtensionServerInfo fields in XSD order, Description inherited first', () => {
    const body = serializeBody('RegisterExtension', {
      extension: {
        taskList: [{ taskID: 'com.hdm.migrate' }],
        server: [{
          serverThumbprint: 'AA:BB', type: 'HTTPS', company: 'HDM', adminEmail: ['ops@hdm.example'],
          description: { summary: 'Plugin server', label: 'HDM' }, url: 'https://hdm.example/plugin.json',
        }],
        lastHeartbeatTime: new Date('2026-01-02T03:04:05.678Z'),
        version: '1.0.0',
        key: 'com.hdm.plugin',
        description: { _type: 'ExtendedDescription', messageCatalogKeyPrefix: 'hdm', summary: 'S', label: 'L' },
        shownInSolutionManager: false,
      },
      _this: { value: 'ExtensionManager', type: 'ExtensionManager' },
    });
    assert.equal(body,
      '<RegisterExtension xmlns="urn:vim25"><_this type="ExtensionManager">ExtensionManager</_this><extension>' +
      '<description xsi:type="ExtendedDescription"><label>L</label><summary>S</summary><messageCatalogKeyPrefix>hdm</messageCatalogKeyPrefix></description>' +
      '<key>com.hdm.plugin</key><version>1.0.0</version>' +
      '<server><url>https://hdm.example/plugin.json</url><description><label>HDM</label><summary>Plugin server</summary></description>' +
      '<company>HDM</company><type>HTTPS</type><adminEmail>ops@hdm.example</adminEmail><serverThumbprint>AA:BB</serverThumbprint></server>' +
      '<taskList><taskID>com.hdm.migrate</taskID></taskList>' +
      '<lastHeartbeatTime>2026-01-02T03:04:05.678Z</lastHeartbeatTime><shownInSolutionManager>false</shownInSolutionManager>' +
      '</extension></RegisterExtension>');
  });

  it('PostEvent EventEx: inherited Event fields first, anyType arguments typed, escaping', () => {
    const body = serializeBody('PostEvent', {
      eventToPost: {
        arguments: [{ value: 3, key: 'n' }, { value: 'a<b & "c"', key: 's' }, { key: 'd', value: new Date(0) },
          { key: 'ref', value: { type: 'VirtualMachine', value: 'vm-1' } }, { key: 'l', value: { _type: 'xsd:long', _value: 5 } }],
        eventTypeId: 'com.hdm.event',
        userName: '', createdTime: new Date(0), chainId: 0, key: 0,
        _type: 'EventEx',
      },
      _this: { type: 'EventManager', value: 'EventManager' },
    });
    assert.equal(body,
      '<PostEvent xmlns="urn:vim25"><_this type="EventManager">EventManager</_this>' +
      '<eventToPost xsi:type="EventEx"><key>0</key><chainId>0</chainId><createdTime>1970-01-01T00:00:00.000Z</createdTime><userName></userName>' +
      '<eventTypeId>com.hdm.event</eventTypeId>' +
      '<arguments><key>n</key><value xsi:type="xsd:int">3</value></arguments>' +
      '<arguments><key>s</key><value xsi:type="xsd:string">a&lt;b &amp; &quot;c&quot;</value></arguments>' +
      '<arguments><key>d</key><value xsi:type="xsd:dateTime">1970-01-01T00:00:00.000Z</value></arguments>' +
      '<arguments><key>ref</key><value xsi:type="ManagedObjectReference" type="VirtualMachine">vm-1</value></arguments>' +
      '<arguments><key>l</key><value xsi:type="xsd:long">5</value></arguments>' +
      '</eventToPost></PostEvent>');
  });

  it('internal methods use urn:internalvim25', () => {
    const body = serializeBody('DisableMethods', {
      sourceId: 'hdm', method: [{ reasonId: 'migrating', method: 'PowerOnVM_Task' }],
      entity: [{ type: 'VirtualMachine', value: 'vm-1' }], _this: { type: 'AuthorizationManager', value: 'AuthorizationManager' },
    });
    assert.equal(body, '<DisableMethods xmlns="urn:internalvim25"><_this type="AuthorizationManager">AuthorizationManager</_this>' +
      '<entity type="VirtualMachine">vm-1</entity><method><method>PowerOnVM_Task</method><reasonId>migrating</reasonId></method>' +
      '<sourceId>hdm</sourceId></DisableMethods>');
  });

  it('envelope declares soapenv, xsd and xsi', () => {
    const env = serializeRequest('RetrieveServiceContent', { _this: { type: 'ServiceInstance', value: 'ServiceInstance' } });
    assert.match(env, /^<\?xml version="1.0" encoding="UTF-8"\?><soapenv:Envelope xmlns:soapenv="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"/);
    assert.match(env, /xmlns:xsi="http:\/\/www.w3.org\/2001\/XMLSchema-instance"/);
    assert.match(env, /<soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance<\/_this><\/RetrieveServiceContent><\/soapenv:Body>/);
  });

  it('refuses unknown fields, missing required fields, wrong types and non-subtypes', () => {
    const _this = { type: 'ExtensionManager', value: 'ExtensionManager' };
    assert.throws(() => serializeBody('FindExtension', { _this, extensionKey: 'k', bogus: 1 }), SoapEncodeError);
    assert.throws(() => serializeBody('FindExtension', { _this }), /extensionKey: required/);
    assert.throws(() => serializeBody('FindExtension', { _this, extensionKey: 5 }), /expected string/);
    assert.throws(() => serializeBody('UpdateProgress', { _this, percentDone: 1.5 }), /integer/);
    assert.throws(() => serializeBody('RetrievePropertiesEx', {
      _this, options: {}, specSet: [{ propSet: [{ type: 'Extension' }], objectSet: [{ obj: _this, selectSet: [{ _type: 'Extension', name: 'x' }] }] }],
    }), /not a subtype of SelectionSpec/);
    // Arrays without omitempty in govmomi (minOccurs 1) need an element: PropertyFilterSpec.propSet.
    assert.throws(() => serializeBody('RetrievePropertiesEx', { _this, options: {}, specSet: [{ propSet: [], objectSet: [{ obj: _this }] }] }),
      /propSet: PropertySpec\[\] needs at least one element/);
    assert.throws(() => serializeBody('RetrievePropertiesEx', { _this, options: {} }), /specSet: required PropertyFilterSpec\[\] is missing/);
    assert.throws(() => serializeBody('NoSuchMethod', {}), /unknown vim25 method/);
  });
});
