import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { serializeBody } from '../soap/xml-writer';

// Golden envelopes of the guest-operation requests: keys given in scrambled order must come out in
// XSD order (inherited GuestAuthentication.interactiveSession before username/password), with
// xsi:type on the polymorphic auth, spec and fileAttributes values. Every used method is also
// covered by the schema-order round trip in soap/xml-writer.spec.ts.
const auth = { password: 'p', username: 'root', interactiveSession: false, _type: 'NamePasswordAuthentication' };
const authXml = '<auth xsi:type="NamePasswordAuthentication"><interactiveSession>false</interactiveSession>' +
  '<username>root</username><password>p</password></auth>';
const vm = { type: 'VirtualMachine', value: 'vm-42' };

describe('GuestOperationsManager request golden', () => {
  it('StartProgramInGuest: GuestProgramSpec fields in order, arguments escaped, env repeated', () => {
    assert.equal(serializeBody('StartProgramInGuest', {
      spec: { envVariables: ['A=1', 'B=2'], workingDirectory: '/tmp', arguments: '-c "echo hi" > /tmp/o', programPath: '/bin/sh' },
      auth, vm, _this: { type: 'GuestProcessManager', value: 'guestOperationsProcessManager' },
    } as never),
    '<StartProgramInGuest xmlns="urn:vim25"><_this type="GuestProcessManager">guestOperationsProcessManager</_this>' +
      `<vm type="VirtualMachine">vm-42</vm>${authXml}` +
      '<spec><programPath>/bin/sh</programPath><arguments>-c &quot;echo hi&quot; &gt; /tmp/o</arguments>' +
      '<workingDirectory>/tmp</workingDirectory><envVariables>A=1</envVariables><envVariables>B=2</envVariables></spec>' +
      '</StartProgramInGuest>');
  });

  it('InitiateFileTransferToGuest: GuestPosixFileAttributes typed, fileSize and overwrite last', () => {
    assert.equal(serializeBody('InitiateFileTransferToGuest', {
      overwrite: true, fileSize: 12, fileAttributes: { permissions: 0o755, _type: 'GuestPosixFileAttributes' },
      guestFilePath: '/tmp/run.sh', auth, vm, _this: { type: 'GuestFileManager', value: 'guestOperationsFileManager' },
    } as never),
    '<InitiateFileTransferToGuest xmlns="urn:vim25"><_this type="GuestFileManager">guestOperationsFileManager</_this>' +
      `<vm type="VirtualMachine">vm-42</vm>${authXml}<guestFilePath>/tmp/run.sh</guestFilePath>` +
      '<fileAttributes xsi:type="GuestPosixFileAttributes"><permissions>493</permissions></fileAttributes>' +
      '<fileSize>12</fileSize><overwrite>true</overwrite></InitiateFileTransferToGuest>');
  });

  it('ListProcessesInGuest, TerminateProcessInGuest, MakeDirectoryInGuest', () => {
    assert.equal(serializeBody('ListProcessesInGuest', { pids: [5, 7], auth, vm, _this: { type: 'GuestProcessManager', value: 'pm' } } as never),
      `<ListProcessesInGuest xmlns="urn:vim25"><_this type="GuestProcessManager">pm</_this><vm type="VirtualMachine">vm-42</vm>${authXml}` +
      '<pids>5</pids><pids>7</pids></ListProcessesInGuest>');
    assert.equal(serializeBody('TerminateProcessInGuest', { pid: 77, auth, vm, _this: { type: 'GuestProcessManager', value: 'pm' } } as never),
      `<TerminateProcessInGuest xmlns="urn:vim25"><_this type="GuestProcessManager">pm</_this><vm type="VirtualMachine">vm-42</vm>${authXml}` +
      '<pid>77</pid></TerminateProcessInGuest>');
    assert.equal(serializeBody('MakeDirectoryInGuest', {
      createParentDirectories: true, directoryPath: '/opt/hdm', auth, vm, _this: { type: 'GuestFileManager', value: 'fm' },
    } as never),
    `<MakeDirectoryInGuest xmlns="urn:vim25"><_this type="GuestFileManager">fm</_this><vm type="VirtualMachine">vm-42</vm>${authXml}` +
      '<directoryPath>/opt/hdm</directoryPath><createParentDirectories>true</createParentDirectories></MakeDirectoryInGuest>');
  });
});
