import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { eventAlarmSpec } from '../objects/alarm-manager';
import { methodInfo } from '../soap/schema';
import { serializeBody, serializeRequest } from '../soap/xml-writer';
import { ioFilterConstraints } from './profile-manager';

// Literal golden envelopes of the alarm, IO filter and PBM requests (the schema-order round trip of
// every used method, these included, is in soap/xml-writer.spec.ts). Keys are given out of order on purpose.
describe('golden envelopes: PBM, alarms, IO filters', () => {
  it('PBM methods are in urn:pbm; others stay in urn:vim25', () => {
    for (const m of ['PbmCreate', 'PbmUpdate', 'PbmDelete', 'PbmQueryProfile', 'PbmRetrieveContent', 'PbmCheckCompliance',
      'PbmQueryAssociatedProfiles', 'PbmQueryAssociatedEntity', 'PbmRetrieveServiceContent']) {
      assert.equal(methodInfo(m)?.namespace, 'urn:pbm', m);
    }
    for (const m of ['CreateAlarm', 'InstallIoFilter_Task', 'QueryIoFilterInfo']) assert.equal(methodInfo(m)?.namespace, 'urn:vim25', m);
  });

  it('PbmCreate: vcSessionCookie header, spec in XSD order, PBM subtype unprefixed in the default namespace', () => {
    const env = serializeRequest('PbmCreate', {
      createSpec: {
        constraints: ioFilterConstraints({ filterName: 'hdm-analyzer' }), resourceType: { resourceType: 'STORAGE' },
        category: 'REQUIREMENT', description: 'd', name: 'HDM Analyzer Profile',
      },
      _this: { type: 'PbmProfileProfileManager', value: 'ProfileManager' },
    }, { vcSessionCookie: 'abc"1' });
    assert.equal(env,
      '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
      'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:vim25="urn:vim25">' +
      '<soapenv:Header><vcSessionCookie>abc&quot;1</vcSessionCookie></soapenv:Header><soapenv:Body>' +
      '<PbmCreate xmlns="urn:pbm"><_this type="PbmProfileProfileManager">ProfileManager</_this><createSpec>' +
      '<name>HDM Analyzer Profile</name><description>d</description><category>REQUIREMENT</category>' +
      '<resourceType><resourceType>STORAGE</resourceType></resourceType>' +
      '<constraints xsi:type="PbmCapabilitySubProfileConstraints"><subProfiles><name>IO filter hdm-analyzer</name>' +
      '<capability><id><namespace>com.vmware.storageprofile.dataservice</namespace><id>hdm-analyzer</id></id>' +
      '<constraint><propertyInstance><id>hdm-analyzer</id><value xsi:type="xsd:string">hdm-analyzer</value></propertyInstance></constraint>' +
      '</capability></subProfiles></constraints></createSpec></PbmCreate></soapenv:Body></soapenv:Envelope>');
  });

  it('PbmCheckCompliance and PbmUpdate', () => {
    assert.equal(serializeBody('PbmCheckCompliance', {
      entities: [{ key: 'vm-56:2000', objectType: 'virtualDiskId' }],
      _this: { type: 'PbmComplianceManager', value: 'complianceManager' },
    }), '<PbmCheckCompliance xmlns="urn:pbm"><_this type="PbmComplianceManager">complianceManager</_this>' +
      '<entities><objectType>virtualDiskId</objectType><key>vm-56:2000</key></entities></PbmCheckCompliance>');
    assert.equal(serializeBody('PbmUpdate', {
      updateSpec: { description: 'v2', name: 'n' }, profileId: { uniqueId: 'u-1' },
      _this: { type: 'PbmProfileProfileManager', value: 'ProfileManager' },
    }), '<PbmUpdate xmlns="urn:pbm"><_this type="PbmProfileProfileManager">ProfileManager</_this>' +
      '<profileId><uniqueId>u-1</uniqueId></profileId><updateSpec><name>n</name><description>v2</description></updateSpec></PbmUpdate>');
  });

  it('CreateAlarm: Or of one EventAlarmExpression on EventEx, both with xsi:type', () => {
    assert.equal(serializeBody('CreateAlarm', {
      spec: eventAlarmSpec({ objectType: 'VirtualMachine', eventTypeId: 'com.hdm.plugin.migration.failed', description: 'd', name: 'n' }),
      entity: { type: 'Folder', value: 'group-d1' }, _this: { type: 'AlarmManager', value: 'AlarmManager' },
    }), '<CreateAlarm xmlns="urn:vim25"><_this type="AlarmManager">AlarmManager</_this><entity type="Folder">group-d1</entity>' +
      '<spec><name>n</name><description>d</description><enabled>true</enabled><expression xsi:type="OrAlarmExpression">' +
      '<expression xsi:type="EventAlarmExpression"><eventType>EventEx</eventType><eventTypeId>com.hdm.plugin.migration.failed</eventTypeId>' +
      '<objectType>VirtualMachine</objectType><status>red</status></expression></expression></spec></CreateAlarm>');
  });

  it('InstallIoFilter_Task and a ReconfigVM_Task assigning a policy to a disk', () => {
    assert.equal(serializeBody('InstallIoFilter_Task', {
      compRes: { type: 'ClusterComputeResource', value: 'domain-c7' }, vibUrl: 'https://h/hdm-analyzer-1.0.0.vib',
      _this: { type: 'IoFilterManager', value: 'IoFilterManager' },
    }), '<InstallIoFilter_Task xmlns="urn:vim25"><_this type="IoFilterManager">IoFilterManager</_this>' +
      '<vibUrl>https://h/hdm-analyzer-1.0.0.vib</vibUrl><compRes type="ClusterComputeResource">domain-c7</compRes></InstallIoFilter_Task>');
    assert.equal(serializeBody('ReconfigVM_Task', {
      _this: { type: 'VirtualMachine', value: 'vm-1' },
      spec: { deviceChange: [{
        profile: [{ _type: 'VirtualMachineDefinedProfileSpec', profileId: 'p-1' }], operation: 'edit',
        device: { _type: 'VirtualDisk', unitNumber: 0, capacityInKB: 1, controllerKey: 1000, key: 2000 },
      }] },
    }), '<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-1</_this><spec><deviceChange><operation>edit</operation>' +
      '<device xsi:type="VirtualDisk"><key>2000</key><controllerKey>1000</controllerKey><unitNumber>0</unitNumber>' +
      '<capacityInKB>1</capacityInKB></device><profile xsi:type="VirtualMachineDefinedProfileSpec"><profileId>p-1</profileId>' +
      '</profile></deviceChange></spec></ReconfigVM_Task>');
  });
});
