import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed, fakeAsync, tick } from '@angular/core/testing';
import { Job } from '@shared/api/api.models';
import { FakeSdk, installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { text, viewTestProviders } from '@shared/testing/view-testing';
import { MONITOR_POLL_MS, VmMonitorComponent, latestJob } from './vm-monitor.component';

const GiB = 1024 ** 3;

function job(over: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    vm: 'vm-42',
    vmName: 'web-01',
    cloud: 'vmc-1',
    kind: 'cold',
    state: 'running',
    bytesDone: 4 * GiB,
    bytesTotal: 16 * GiB,
    rateBytesPerSec: 112.4 * 1024 * 1024,
    createdAt: '2026-11-25T10:00:00Z',
    updatedAt: '2026-11-25T10:05:00Z',
    ...over,
  };
}

describe('latestJob', () => {
  it('picks the newest job by creation time', () => {
    const a = job({ id: 'a', createdAt: '2026-01-01T00:00:00Z' });
    const b = job({ id: 'b', createdAt: '2026-02-01T00:00:00Z' });
    expect(latestJob([b, a])?.id).toBe('b');
    expect(latestJob([])).toBeNull();
  });
});

describe('VmMonitorComponent', () => {
  let fixture: ComponentFixture<VmMonitorComponent>;
  let http: HttpTestingController;
  let sdk: FakeSdk;
  let el: HTMLElement;

  function step(ms = 0): void {
    tick(ms);
    fixture.detectChanges();
  }

  function start(): void {
    fixture = TestBed.createComponent(VmMonitorComponent);
    el = fixture.nativeElement;
    fixture.detectChanges();
    step(0);
  }

  function expectPoll() {
    return http.expectOne((r) => r.url === '/api/v1/jobs' && r.params.get('vm') === 'vm-42');
  }

  beforeEach(() => {
    sdk = installFakeSdk();
    TestBed.configureTestingModule({ imports: [VmMonitorComponent], providers: viewTestProviders() });
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    http.verify();
    removeFakeSdk();
  });

  it('shows state, progress, rate, times and a Cancel button for a running job', fakeAsync(() => {
    start();
    const req = expectPoll();
    expect(req.request.headers.get('vmware-api-session-id')).toBe('token-123');
    req.flush([job({ id: 'old', state: 'failed', createdAt: '2026-11-24T10:00:00Z' }), job()]);
    step();
    expect(text(el.querySelector('hdm-job-state-label'))).toBe('Running');
    expect(el.querySelector('.label-info')).not.toBeNull();
    expect((el.querySelector('.hdm-progress progress') as HTMLProgressElement).value).toBe(25);
    expect(text(el.querySelector('.hdm-bytes'))).toBe('4.0 GB of 16.0 GB (25%)');
    expect(text(el.querySelector('.hdm-rate'))).toBe('112.4 MB/s');
    expect(text(el.querySelector('.hdm-started'))).not.toBe('');
    expect(text(el.querySelector('.hdm-ended'))).toBe('—');
    expect(el.querySelector('.hdm-cancel')).not.toBeNull();
    fixture.destroy();
  }));

  it('polls every 2 s and stops polling on destroy', fakeAsync(() => {
    start();
    expectPoll().flush([job({ bytesDone: 4 * GiB })]);
    step(MONITOR_POLL_MS - 1);
    http.expectNone('/api/v1/jobs?vm=vm-42');
    step(1);
    expectPoll().flush([job({ bytesDone: 8 * GiB })]);
    step();
    expect((el.querySelector('.hdm-progress progress') as HTMLProgressElement).value).toBe(50);
    step(MONITOR_POLL_MS);
    expectPoll().flush([job({ state: 'done', bytesDone: 16 * GiB, rateBytesPerSec: 0 })]);
    step();
    expect(text(el.querySelector('hdm-job-state-label'))).toBe('Done');
    expect(el.querySelector('.hdm-cancel')).toBeNull();
    expect(text(el.querySelector('.hdm-ended'))).not.toBe('—');

    fixture.destroy();
    tick(5 * MONITOR_POLL_MS);
    http.expectNone((r) => r.url === '/api/v1/jobs');
  }));

  it('cancels the running job', fakeAsync(() => {
    start();
    expectPoll().flush([job()]);
    step();
    (el.querySelector('.hdm-cancel') as HTMLButtonElement).click();
    step();
    const req = http.expectOne('/api/v1/jobs/job-1/cancel');
    expect(req.request.method).toBe('POST');
    req.flush(job({ state: 'cancelled' }));
    step();
    expect(text(el.querySelector('hdm-job-state-label'))).toBe('Cancelled');
    expect(el.querySelector('.hdm-cancel')).toBeNull();
    fixture.destroy();
  }));

  it('shows the error text of a failed job', fakeAsync(() => {
    start();
    expectPoll().flush([job({ state: 'failed', error: 'NFC lease timed out' })]);
    step();
    expect(text(el.querySelector('hdm-job-state-label'))).toBe('Failed');
    expect(text(el.querySelector('.hdm-job-error'))).toBe('NFC lease timed out');
    fixture.destroy();
  }));

  it('shows an empty state when the VM has no job', fakeAsync(() => {
    start();
    expectPoll().flush([]);
    step();
    expect(text(el.querySelector('.hdm-empty h3'))).toBe('No migration');
    fixture.destroy();
  }));

  it('shows the session-expired alert on 401 and stops polling', fakeAsync(() => {
    start();
    expectPoll().flush({ message: 'expired' }, { status: 401, statusText: 'Unauthorized' });
    step();
    expect(text(el.querySelector('.hdm-session-expired'))).toBe('Your vSphere session has expired. Log in again.');
    step(3 * MONITOR_POLL_MS);
    http.expectNone((r) => r.url === '/api/v1/jobs');
    fixture.destroy();
  }));

  it('shows a server error message as is and keeps polling', fakeAsync(() => {
    start();
    expectPoll().flush({ message: 'database is locked' }, { status: 503, statusText: 'Unavailable' });
    step();
    expect(text(el.querySelector('.hdm-api-error'))).toBe('database is locked');
    step(MONITOR_POLL_MS);
    expectPoll().flush([job()]);
    step();
    expect(el.querySelector('.hdm-api-error')).toBeNull();
    fixture.destroy();
  }));

  it('explains when there is no VM context', fakeAsync(() => {
    sdk.contextIds = [];
    start();
    expect(text(el.querySelector('.hdm-no-context'))).toContain('No virtual machine is selected');
    http.expectNone((r) => r.url === '/api/v1/jobs');
    fixture.destroy();
  }));
});
