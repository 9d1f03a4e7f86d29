import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { CloudInventory, VmSummary } from '@shared/api/api.models';
import { FakeSdk, installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { all, selectValue, settle, text, typeText, viewTestProviders } from '@shared/testing/view-testing';
import { VmMigrateComponent } from './vm-migrate.component';

const VM: VmSummary = {
  moid: 'vm-42',
  name: 'web-01',
  powerState: 'poweredOff',
  guestId: 'debian12_64Guest',
  numCpu: 2,
  memoryMB: 4096,
  disks: [{ key: 2000, label: 'Hard disk 1', capacityBytes: 16 * 1024 ** 3 }],
  networks: [{ name: 'VM Network' }, { name: 'DB Net' }, { name: 'VM Network' }],
};

const INVENTORY: CloudInventory = {
  clusters: [
    { id: 'domain-c1', name: 'Cluster-1' },
    { id: 'domain-c2', name: 'Cluster-2' },
  ],
  resourcePools: [
    { id: 'resgroup-1', name: 'Pool-A', cluster: 'domain-c1' },
    { id: 'resgroup-2', name: 'Pool-B', cluster: 'domain-c2' },
  ],
  datastores: [{ id: 'datastore-9', name: 'WorkloadDatastore', freeBytes: 2 * 1024 ** 4 }],
  folders: [{ id: 'group-v5', name: 'Workloads' }],
  networks: [
    { id: 'network-7', name: 'cloud-web' },
    { id: 'network-8', name: 'DB Net' },
  ],
};

describe('VmMigrateComponent', () => {
  let fixture: ComponentFixture<VmMigrateComponent>;
  let http: HttpTestingController;
  let sdk: FakeSdk;
  let el: HTMLElement;

  async function open(): Promise<void> {
    fixture = TestBed.createComponent(VmMigrateComponent);
    el = fixture.nativeElement;
    fixture.detectChanges();
    await settle(fixture);
  }

  async function load(): Promise<void> {
    await open();
    http.expectOne('/api/v1/clouds').flush([
      { name: 'vmc-1', url: 'https://vmc-1.example' },
      { name: 'vmc-2', url: 'https://vmc-2.example' },
    ]);
    http.expectOne('/api/v1/vms/vm-42').flush(VM);
    await settle(fixture);
  }

  async function chooseCloud(): Promise<void> {
    selectValue(el, '#hdm-cloud', 'vmc-1');
    await settle(fixture);
    http.expectOne('/api/v1/clouds/vmc-1/inventory').flush(INVENTORY);
    await settle(fixture);
  }

  beforeEach(() => {
    sdk = installFakeSdk();
    TestBed.configureTestingModule({ imports: [VmMigrateComponent], providers: viewTestProviders() });
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    http.verify();
    fixture?.destroy();
    removeFakeSdk();
  });

  it('loads clouds and the VM, defaulting the target name to the source name', async () => {
    await load();
    expect(all(el, '#hdm-cloud option')).toEqual(['Select a cloud', 'vmc-1', 'vmc-2']);
    expect((el.querySelector('#hdm-target-name') as HTMLInputElement).value).toBe('web-01');
    expect(text(el.querySelector('.hdm-vm-summary'))).toContain('web-01');
  });

  it('shows one network-map row per distinct source NIC network', async () => {
    await load();
    expect(all(el, '.hdm-network-row .hdm-network-source')).toEqual(['VM Network', 'DB Net']);
    await chooseCloud();
    // a cloud network with the same name is preselected; others stay empty
    expect((el.querySelector('#hdm-net-0') as HTMLSelectElement).value).toBe('');
    expect((el.querySelector('#hdm-net-1') as HTMLSelectElement).value).toBe('network-8');
  });

  it('shows inline errors on every required field before submit and sends nothing', async () => {
    await load();
    typeText(el, '#hdm-target-name', '');
    (el.querySelector('.hdm-submit') as HTMLButtonElement).click();
    await settle(fixture);
    const errors = all(el, 'clr-control-error');
    expect(errors).toContain('Select the target cloud.');
    expect(errors).toContain('Select a cluster.');
    expect(errors).toContain('Select a datastore.');
    expect(errors).toContain('Enter a name for the migrated VM.');
    expect(errors.filter((e) => e === 'Select the target network for this source network.').length).toBe(2);
    http.expectNone('/api/v1/migrations');
    expect(sdk.closeCalls.length).toBe(0);
  });

  it('validates the target name: length and forbidden characters', async () => {
    await load();
    const name = fixture.componentInstance.form.controls.targetName;
    typeText(el, '#hdm-target-name', 'x'.repeat(81));
    await settle(fixture);
    expect(name.hasError('maxlength')).toBeTrue();
    expect(all(el, 'clr-control-error')).toContain('The name can have at most 80 characters.');
    for (const bad of ['a/b', 'a\\b', '100%']) {
      typeText(el, '#hdm-target-name', bad);
      await settle(fixture);
      expect(all(el, 'clr-control-error')).toContain('The name cannot contain /, \\ or %.');
    }
    typeText(el, '#hdm-target-name', '   ');
    await settle(fixture);
    expect(name.hasError('required')).toBeTrue();
    typeText(el, '#hdm-target-name', 'x'.repeat(80));
    await settle(fixture);
    expect(name.valid).toBeTrue();
  });

  it('limits resource pools to the chosen cluster', async () => {
    await load();
    await chooseCloud();
    selectValue(el, '#hdm-cluster', 'domain-c2');
    await settle(fixture);
    expect(all(el, '#hdm-pool option')).toEqual(['Default', 'Pool-B']);
  });

  it('posts the migration with the documented body and closes the modal on 201', async () => {
    await load();
    await chooseCloud();
    selectValue(el, '#hdm-cluster', 'domain-c1');
    await settle(fixture);
    selectValue(el, '#hdm-pool', 'resgroup-1');
    selectValue(el, '#hdm-datastore', 'datastore-9');
    selectValue(el, '#hdm-net-0', 'network-7');
    typeText(el, '#hdm-target-name', '  web-01-cloud ');
    (el.querySelector('#hdm-power-on') as HTMLInputElement).click();
    await settle(fixture);
    (el.querySelector('.hdm-submit') as HTMLButtonElement).click();
    await settle(fixture);

    const req = http.expectOne('/api/v1/migrations');
    expect(req.request.method).toBe('POST');
    expect(req.request.headers.get('vmware-api-session-id')).toBe('token-123');
    expect(req.request.body).toEqual({
      vm: 'vm-42',
      cloud: 'vmc-1',
      kind: 'cold',
      targetName: 'web-01-cloud',
      placement: { cluster: 'domain-c1', resourcePool: 'resgroup-1', datastore: 'datastore-9' },
      networkMap: { 'VM Network': 'network-7', 'DB Net': 'network-8' },
      powerOn: true,
    });
    req.flush({ id: 'job-1', state: 'queued' }, { status: 201, statusText: 'Created' });
    await settle(fixture);
    expect(sdk.closeCalls).toEqual([[]]);
  });

  it('shows the server message as is when the migration is refused', async () => {
    await load();
    await chooseCloud();
    selectValue(el, '#hdm-cluster', 'domain-c1');
    selectValue(el, '#hdm-datastore', 'datastore-9');
    selectValue(el, '#hdm-net-0', 'network-7');
    await settle(fixture);
    (el.querySelector('.hdm-submit') as HTMLButtonElement).click();
    await settle(fixture);
    http
      .expectOne('/api/v1/migrations')
      .flush({ message: 'VM web-01 is powered on: cold migration needs it off' }, { status: 409, statusText: 'Conflict' });
    await settle(fixture);
    expect(text(el.querySelector('.hdm-api-error'))).toBe('VM web-01 is powered on: cold migration needs it off');
    expect(sdk.closeCalls.length).toBe(0);
  });

  it('shows the session-expired alert on 401, never a blank panel', async () => {
    await open();
    http.expectOne('/api/v1/clouds').flush({ message: 'x' }, { status: 401, statusText: 'Unauthorized' });
    http.expectOne('/api/v1/vms/vm-42').flush({ message: 'x' }, { status: 401, statusText: 'Unauthorized' });
    await settle(fixture);
    expect(text(el.querySelector('.hdm-session-expired'))).toBe('Your vSphere session has expired. Log in again.');
  });

  it('with a single cloud, selects it and preselects same-name networks even when the VM loads last', async () => {
    await open();
    http.expectOne('/api/v1/clouds').flush([{ name: 'vmc-1', url: 'https://vmc-1.example' }]);
    await settle(fixture);
    http.expectOne('/api/v1/clouds/vmc-1/inventory').flush(INVENTORY);
    await settle(fixture);
    http.expectOne('/api/v1/vms/vm-42').flush(VM);
    await settle(fixture);
    expect((el.querySelector('#hdm-cloud') as HTMLSelectElement).value).toBe('vmc-1');
    expect((el.querySelector('#hdm-net-1') as HTMLSelectElement).value).toBe('network-8');
  });

  it('closes the modal on Cancel', async () => {
    await load();
    (el.querySelector('.hdm-cancel') as HTMLButtonElement).click();
    expect(sdk.closeCalls).toEqual([[]]);
    http.expectNone('/api/v1/migrations');
  });

  it('explains when there is no VM context', async () => {
    sdk.contextIds = [];
    await open();
    expect(text(el.querySelector('.hdm-no-context'))).toContain('No virtual machine is selected');
    expect(el.querySelector('form')).toBeNull();
  });
});
