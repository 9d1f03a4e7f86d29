import type { VmDetails } from '../vsphere';

/** The disk file name the descriptor references for disk `index` of a VM. */
export function diskFileName(vmName: string, index: number): string {
  return `${safe(vmName)}-disk${index + 1}.vmdk`;
}

const NIC_SUBTYPE: Record<string, string> = {
  vmxnet3: 'VmxNet3',
  vmxnet2: 'VmxNet2',
  vmxnet: 'VmxNet',
  e1000: 'E1000',
  e1000e: 'E1000e',
  pcnet32: 'PCNet32',
};

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * An OVF 1.0 descriptor describing `vm` as it should be created in the cloud:
 * same CPU count, memory, guest OS, firmware, disks (capacity, order) and NICs
 * (adapter type; connection by source network name, mapped at CreateImportSpec).
 * Disks sit on one LSI Logic SCSI controller per 15 disks.
 */
export function buildOvfDescriptor(vm: VmDetails, targetName: string): string {
  const disks = vm.disks;
  const refs = disks.map((d, i) => `    <File ovf:id="file${i + 1}" ovf:href="${xml(diskFileName(targetName, i))}" ovf:size="${d.capacityInBytes}"/>`);
  const diskEls = disks.map(
    (d, i) =>
      `    <Disk ovf:diskId="vmdisk${i + 1}" ovf:fileRef="file${i + 1}" ovf:capacity="${d.capacityInBytes}" ovf:capacityAllocationUnits="byte" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>`,
  );
  const networks = [...new Set(vm.nics.map((n) => n.network?.name ?? 'VM Network'))];
  let id = 1;
  const items: string[] = [];
  const item = (body: string) => items.push(`      <Item>\n${body}\n        <rasd:InstanceID>${id++}</rasd:InstanceID>\n      </Item>`);
  item(`        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>\n        <rasd:ElementName>${vm.numCPU ?? 1} virtual CPU(s)</rasd:ElementName>\n        <rasd:ResourceType>3</rasd:ResourceType>\n        <rasd:VirtualQuantity>${vm.numCPU ?? 1}</rasd:VirtualQuantity>`);
  item(`        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>\n        <rasd:ElementName>${vm.memoryMB ?? 512}MB of memory</rasd:ElementName>\n        <rasd:ResourceType>4</rasd:ResourceType>\n        <rasd:VirtualQuantity>${vm.memoryMB ?? 512}</rasd:VirtualQuantity>`);
  const controllers: number[] = [];
  for (let c = 0; c < Math.max(1, Math.ceil(disks.length / 15)); c++) {
    controllers.push(id);
    item(`        <rasd:Address>${c}</rasd:Address>\n        <rasd:ElementName>SCSI controller ${c}</rasd:ElementName>\n        <rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>\n        <rasd:ResourceType>6</rasd:ResourceType>`);
  }
  disks.forEach((d, i) => {
    const unit = i % 15 >= 7 ? (i % 15) + 1 : i % 15; // unit 7 is the controller's own
    item(`        <rasd:AddressOnParent>${unit}</rasd:AddressOnParent>\n        <rasd:ElementName>${xml(d.label)}</rasd:ElementName>\n        <rasd:HostResource>ovf:/disk/vmdisk${i + 1}</rasd:HostResource>\n        <rasd:Parent>${controllers[Math.floor(i / 15)]}</rasd:Parent>\n        <rasd:ResourceType>17</rasd:ResourceType>`);
  });
  vm.nics.forEach((n, i) => {
    item(`        <rasd:AddressOnParent>${7 + i}</rasd:AddressOnParent>\n        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>\n        <rasd:Connection>${xml(n.network?.name ?? 'VM Network')}</rasd:Connection>\n        <rasd:ElementName>${xml(n.label)}</rasd:ElementName>\n        <rasd:ResourceSubType>${NIC_SUBTYPE[n.adapterType] ?? 'VmxNet3'}</rasd:ResourceSubType>\n        <rasd:ResourceType>10</rasd:ResourceType>`);
  });
  const firmware = vm.firmware ? `\n      <vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="${xml(vm.firmware)}"/>` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"
  xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
  xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
  xmlns:vmw="http://www.vmware.com/schema/ovf">
  <References>
${refs.join('\n')}
  </References>
  <DiskSection>
    <Info>Virtual disks</Info>
${diskEls.join('\n')}
  </DiskSection>
  <NetworkSection>
    <Info>Networks</Info>
${networks.map((n) => `    <Network ovf:name="${xml(n)}"><Description>${xml(n)}</Description></Network>`).join('\n')}
  </NetworkSection>
  <VirtualSystem ovf:id="${xml(targetName)}">
    <Info>A virtual machine migrated by HDM</Info>
    <Name>${xml(targetName)}</Name>
    <OperatingSystemSection ovf:id="1" vmw:osType="${xml(vm.guestId ?? 'otherGuest')}">
      <Info>Guest OS</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>${xml(targetName)}</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
${items.join('\n')}${firmware}
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`;
}
