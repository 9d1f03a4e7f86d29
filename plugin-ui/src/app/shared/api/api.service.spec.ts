import { provideHttpClient } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { MigrationRequest } from './api.models';
import { ApiService } from './api.service';

describe('ApiService', () => {
  let api: ApiService;
  let http: HttpTestingController;

  beforeEach(() => {
    TestBed.configureTestingModule({ providers: [provideHttpClient(), provideHttpClientTesting()] });
    api = TestBed.inject(ApiService);
    http = TestBed.inject(HttpTestingController);
  });

  afterEach(() => http.verify());

  it('lists clouds', () => {
    let result: unknown;
    api.getClouds().subscribe((r) => (result = r));
    const req = http.expectOne('/api/v1/clouds');
    expect(req.request.method).toBe('GET');
    req.flush([{ name: 'vmc-1', url: 'https://vmc-1' }]);
    expect(result).toEqual([{ name: 'vmc-1', url: 'https://vmc-1' }]);
  });

  it('gets the inventory of a cloud, escaping its name', () => {
    api.getInventory('cloud a/b').subscribe();
    const req = http.expectOne('/api/v1/clouds/cloud%20a%2Fb/inventory');
    expect(req.request.method).toBe('GET');
    req.flush({ clusters: [], resourcePools: [], datastores: [], folders: [], networks: [] });
  });

  it('gets a VM', () => {
    api.getVm('vm-42').subscribe();
    expect(http.expectOne('/api/v1/vms/vm-42').request.method).toBe('GET');
  });

  it('posts a migration', () => {
    const body: MigrationRequest = {
      vm: 'vm-42',
      cloud: 'vmc-1',
      kind: 'cold',
      targetName: 'web-01',
      placement: { cluster: 'domain-c1', datastore: 'datastore-1' },
      networkMap: { 'VM Network': 'network-7' },
      powerOn: true,
    };
    api.createMigration(body).subscribe();
    const req = http.expectOne('/api/v1/migrations');
    expect(req.request.method).toBe('POST');
    expect(req.request.body).toEqual(body);
  });

  it('lists all jobs or the jobs of one VM', () => {
    api.getJobs().subscribe();
    const all = http.expectOne((r) => r.url === '/api/v1/jobs' && !r.params.has('vm'));
    expect(all.request.method).toBe('GET');
    api.getJobs('vm-42').subscribe();
    const one = http.expectOne((r) => r.url === '/api/v1/jobs' && r.params.get('vm') === 'vm-42');
    expect(one.request.urlWithParams).toBe('/api/v1/jobs?vm=vm-42');
  });

  it('cancels a job', () => {
    api.cancelJob('job-1').subscribe();
    const req = http.expectOne('/api/v1/jobs/job-1/cancel');
    expect(req.request.method).toBe('POST');
  });
});
