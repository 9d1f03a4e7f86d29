import { HttpTestingController } from '@angular/common/http/testing';
import { ComponentFixture, TestBed } from '@angular/core/testing';
import { Job } from '@shared/api/api.models';
import { installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { all, selectValue, settle, text, viewTestProviders } from '@shared/testing/view-testing';
import { JobsComponent } from './jobs.component';

const GiB = 1024 ** 3;

function job(id: string, over: Partial<Job>): Job {
  return {
    id,
    vm: 'vm-' + id,
    vmName: 'vm-' + id,
    cloud: 'vmc-1',
    kind: 'cold',
    state: 'running',
    bytesDone: 0,
    bytesTotal: 10 * GiB,
    rateBytesPerSec: 0,
    createdAt: '2026-11-25T10:00:00Z',
    updatedAt: '2026-11-25T10:00:00Z',
    ...over,
  };
}

const JOBS: Job[] = [
  job('1', { vmName: 'web-01', state: 'running', bytesDone: 5 * GiB, rateBytesPerSec: 50 * 1024 * 1024, createdAt: '2026-11-25T09:00:00Z' }),
  job('2', { vmName: 'db-01', state: 'done', bytesDone: 10 * GiB, createdAt: '2026-11-25T11:00:00Z' }),
  job('3', { vmName: 'app-01', state: 'failed', bytesDone: 1 * GiB, error: 'datastore full', createdAt: '2026-11-25T10:00:00Z' }),
];

describe('JobsComponent', () => {
  let fixture: ComponentFixture<JobsComponent>;
  let http: HttpTestingController;
  let el: HTMLElement;

  const rows = () => all(el, 'clr-dg-row .hdm-cell-vm');

  async function load(jobs: Job[] = JOBS): Promise<void> {
    fixture = TestBed.createComponent(JobsComponent);
    el = fixture.nativeElement;
    fixture.detectChanges();
    await settle(fixture);
    http.expectOne('/api/v1/jobs').flush(jobs);
    await settle(fixture);
  }

  beforeEach(() => {
    installFakeSdk();
    TestBed.configureTestingModule({ imports: [JobsComponent], providers: viewTestProviders() });
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => {
    http.verify();
    fixture?.destroy();
    removeFakeSdk();
  });

  it('shows one datagrid row per job, newest first, with state labels and progress', async () => {
    await load();
    expect(rows()).toEqual(['db-01', 'app-01', 'web-01']);
    expect(all(el, 'clr-dg-row hdm-job-state-label')).toEqual(['Done', 'Failed', 'Running']);
    const progress = Array.from(el.querySelectorAll('clr-dg-row .hdm-progress-cell progress')).map(
      (p) => (p as HTMLProgressElement).value,
    );
    expect(progress).toEqual([100, 10, 50]);
    expect(text(el.querySelector('clr-dg-footer'))).toContain('3 job(s)');
  });

  it('filters by state', async () => {
    await load();
    selectValue(el, '#hdm-state-filter', 'failed');
    await settle(fixture);
    expect(rows()).toEqual(['app-01']);
    selectValue(el, '#hdm-state-filter', '');
    await settle(fixture);
    expect(rows().length).toBe(3);
  });

  it('sorts by a column header click', async () => {
    await load();
    const vmHeader = el.querySelector('clr-dg-column .datagrid-column-title') as HTMLButtonElement;
    vmHeader.click();
    await settle(fixture);
    expect(rows()).toEqual(['app-01', 'db-01', 'web-01']);
    vmHeader.click();
    await settle(fixture);
    expect(rows()).toEqual(['web-01', 'db-01', 'app-01']);
  });

  it('refreshes on demand', async () => {
    await load([JOBS[0]]);
    expect(rows()).toEqual(['web-01']);
    (el.querySelector('.hdm-refresh') as HTMLButtonElement).click();
    await settle(fixture);
    http.expectOne('/api/v1/jobs').flush(JOBS);
    await settle(fixture);
    expect(rows().length).toBe(3);
  });

  it('shows a placeholder when there is no job', async () => {
    await load([]);
    expect(rows()).toEqual([]);
    expect(text(el.querySelector('clr-dg-placeholder'))).toContain('No migration jobs yet.');
  });

  it('shows the session-expired alert on 401', async () => {
    fixture = TestBed.createComponent(JobsComponent);
    el = fixture.nativeElement;
    fixture.detectChanges();
    await settle(fixture);
    http.expectOne('/api/v1/jobs').flush({}, { status: 401, statusText: 'Unauthorized' });
    await settle(fixture);
    expect(text(el.querySelector('.hdm-session-expired'))).toBe('Your vSphere session has expired. Log in again.');
  });

  it('shows the server message of other errors as is', async () => {
    fixture = TestBed.createComponent(JobsComponent);
    el = fixture.nativeElement;
    fixture.detectChanges();
    await settle(fixture);
    http.expectOne('/api/v1/jobs').flush({ message: 'orchestrator not ready' }, { status: 503, statusText: 'Unavailable' });
    await settle(fixture);
    expect(text(el.querySelector('.hdm-api-error'))).toBe('orchestrator not ready');
  });
});
