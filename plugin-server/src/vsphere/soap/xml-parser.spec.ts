import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseResponse } from './xml-parser';
import { VimFault } from './vim-fault';

/** Wraps a body the way vcsim does: its own prefixes, xsi bound as `XMLSchema-instance`. */
function vcsimEnvelope(body: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`;
}
const XSI = 'xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance"';

describe('xml-parser', () => {
  it('RetrievePropertiesEx: arrays of one, numbers, booleans, dates, MoRefs, prefixed xsi:type', () => {
    const xml = vcsimEnvelope(
      `<RetrievePropertiesExResponse xmlns="urn:vim25" ${XSI} xmlns:x="urn:vim25"><returnval>` +
      '<objects><obj type="VirtualMachine">vm-1</obj>' +
      '<propSet><name>name</name><val XMLSchema-instance:type="xsd:string">app-01</val></propSet>' +
      '<propSet><name>runtime.powerState</name><val XMLSchema-instance:type="x:VirtualMachinePowerState">poweredOff</val></propSet>' +
      '<propSet><name>summary.config.memorySizeMB</name><val XMLSchema-instance:type="xsd:int">4096</val></propSet>' +
      '<propSet><name>summary.storage.committed</name><val XMLSchema-instance:type="xsd:long">1099511627776</val></propSet>' +
      '<propSet><name>config.template</name><val XMLSchema-instance:type="xsd:boolean">false</val></propSet>' +
      '<propSet><name>runtime.bootTime</name><val XMLSchema-instance:type="xsd:dateTime">2026-01-02T03:04:05.678Z</val></propSet>' +
      '<propSet><name>datastore</name><val XMLSchema-instance:type="ArrayOfManagedObjectReference">' +
      '<ManagedObjectReference type="Datastore">datastore-1</ManagedObjectReference></val></propSet>' +
      '<propSet><name>runtime.host</name><val XMLSchema-instance:type="ManagedObjectReference" type="HostSystem">host-7</val></propSet>' +
      '</objects><token>abc</token></returnval></RetrievePropertiesExResponse>');
    const res = parseResponse('RetrievePropertiesEx', xml) as {
      objects: Array<{ obj: unknown; propSet: Array<{ name: string; val: unknown }> }>; token: string;
    };
    assert.equal(res.token, 'abc');
    assert.equal(res.objects.length, 1, 'objects is an array even with one element');
    assert.deepEqual(res.objects[0].obj, { type: 'VirtualMachine', value: 'vm-1' });
    const props = Object.fromEntries(res.objects[0].propSet.map((p) => [p.name, p.val]));
    assert.equal(props.name, 'app-01');
    assert.equal(props['runtime.powerState'], 'poweredOff');
    assert.equal(props['summary.config.memorySizeMB'], 4096);
    assert.equal(props['summary.storage.committed'], 1099511627776);
    assert.equal(props['config.template'], false);
    assert.deepEqual(props['runtime.bootTime'], new Date('2026-01-02T03:04:05.678Z'));
    assert.deepEqual(props.datastore, { _type: 'ArrayOfManagedObjectReference', ManagedObjectReference: [{ type: 'Datastore', value: 'datastore-1' }] });
    assert.deepEqual(props['runtime.host'], { type: 'HostSystem', value: 'host-7' });
  });

  it('typed struct fields: int, boolean, enum, optional arrays, polymorphic values keep _type', () => {
    const xml = vcsimEnvelope(
      `<CreateTaskResponse xmlns="urn:vim25" ${XSI}><returnval>` +
      '<key>task-9</key><task type="Task">task-9</task><descriptionId>com.hdm.migrate</descriptionId>' +
      '<locked type="VirtualMachine">vm-1</locked>' +
      '<state>running</state><cancelled>false</cancelled><cancelable>true</cancelable><progress>42</progress>' +
      '<reason XMLSchema-instance:type="TaskReasonUser"><userName>admin</userName></reason>' +
      '<queueTime>2026-01-02T03:04:05Z</queueTime><eventChainId>17</eventChainId></returnval></CreateTaskResponse>');
    const info = parseResponse('CreateTask', xml) as Record<string, unknown>;
    assert.deepEqual(info.locked, [{ type: 'VirtualMachine', value: 'vm-1' }]);
    assert.equal(info.state, 'running');
    assert.equal(info.cancelable, true);
    assert.equal(info.cancelled, false);
    assert.equal(info.progress, 42);
    assert.equal(info.eventChainId, 17);
    assert.deepEqual(info.reason, { _type: 'TaskReasonUser', userName: 'admin' });
    assert.ok(info.queueTime instanceof Date);
    assert.equal(info.error, undefined);
  });

  it('array-returning methods return [] for no returnval and an array for one', () => {
    assert.deepEqual(parseResponse('QueryEvents', vcsimEnvelope('<QueryEventsResponse xmlns="urn:vim25"></QueryEventsResponse>')), []);
    const one = parseResponse('QueryEvents', vcsimEnvelope(
      `<QueryEventsResponse xmlns="urn:vim25" ${XSI}><returnval XMLSchema-instance:type="EventEx"><key>5</key><chainId>5</chainId>` +
      '<createdTime>2026-01-02T03:04:05Z</createdTime><userName>u</userName><eventTypeId>com.hdm.e</eventTypeId>' +
      '<arguments><key>n</key><value XMLSchema-instance:type="xsd:int">3</value></arguments></returnval></QueryEventsResponse>')) as unknown[];
    assert.equal(one.length, 1);
    assert.deepEqual(one[0], {
      _type: 'EventEx', key: 5, chainId: 5, createdTime: new Date('2026-01-02T03:04:05Z'), userName: 'u',
      eventTypeId: 'com.hdm.e', arguments: [{ key: 'n', value: 3 }],
    });
    assert.equal(parseResponse('FindExtension', vcsimEnvelope('<FindExtensionResponse xmlns="urn:vim25"/>')), undefined);
    assert.equal(parseResponse('Logout', vcsimEnvelope('<LogoutResponse xmlns="urn:vim25"/>')), undefined);
  });

  it('unknown elements (newer servers) are skipped', () => {
    const res = parseResponse('SessionIsActive', vcsimEnvelope(
      '<SessionIsActiveResponse xmlns="urn:vim25"><returnval>true</returnval><futureThing>1</futureThing></SessionIsActiveResponse>'));
    assert.equal(res, true);
  });

  it('SOAP fault → VimFault with faultName, message and detail (prefixed xsi:type)', () => {
    const xml = vcsimEnvelope(
      '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>Login failure</faultstring>' +
      `<detail><InvalidLoginFault xmlns="urn:vim25" ${XSI} XMLSchema-instance:type="InvalidLogin"></InvalidLoginFault></detail></soapenv:Fault>`);
    assert.throws(() => parseResponse('Login', xml), (e: unknown) => {
      assert.ok(e instanceof VimFault);
      assert.equal(e.faultName, 'InvalidLogin');
      assert.equal(e.message, 'Login failure');
      assert.equal(e.faultCode, 'ServerFaultCode');
      assert.deepEqual(e.detail, { _type: 'InvalidLogin' });
      return true;
    });
  });

  it('fault detail fields are parsed (ManagedObjectNotFound.obj) and the element name works without xsi:type', () => {
    const xml = vcsimEnvelope(
      '<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The object has already been deleted</faultstring>' +
      '<detail><ManagedObjectNotFoundFault xmlns="urn:vim25"><obj type="VirtualMachine">vm-404</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault>');
    assert.throws(() => parseResponse('PowerOnVM_Task', xml), (e: unknown) => {
      assert.ok(VimFault.is(e, 'ManagedObjectNotFound'));
      assert.deepEqual(e.detail, { _type: 'ManagedObjectNotFound', obj: { type: 'VirtualMachine', value: 'vm-404' } });
      return true;
    });
  });

  it('each common fault name comes through', () => {
    for (const name of ['NotAuthenticated', 'NoPermission', 'InvalidState', 'InvalidArgument', 'NotFound', 'InvalidRequest']) {
      const xml = vcsimEnvelope(`<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>m ${name}</faultstring>` +
        `<detail><${name}Fault xmlns="urn:vim25" ${XSI} XMLSchema-instance:type="${name}"/></detail></soapenv:Fault>`);
      assert.throws(() => parseResponse('Logout', xml), (e: unknown) => VimFault.is(e, name) && e.message === `m ${name}`);
    }
  });

  it('malformed XML and a wrong response element are reported', () => {
    assert.throws(() => parseResponse('Logout', '<soapenv:Envelope'), /malformed XML/);
    assert.throws(() => parseResponse('Logout', vcsimEnvelope('<LoginResponse xmlns="urn:vim25"/>')), /expected <LogoutResponse>/);
  });
});
