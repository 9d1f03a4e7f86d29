import { HttpClient, HttpParams } from '@angular/common/http';
import { Injectable, inject } from '@angular/core';
import { Observable } from 'rxjs';
import { Cloud, CloudInventory, Job, MigrationRequest, VmSummary } from './api.models';

/** Path prefix of every API call; the session interceptor prefixes the plugin server origin. */
export const API_PREFIX = '/api/v1';

/** Typed access to the HDM REST API. */
@Injectable({ providedIn: 'root' })
export class ApiService {
  private readonly http = inject(HttpClient);

  getClouds(): Observable<Cloud[]> {
    return this.http.get<Cloud[]>(`${API_PREFIX}/clouds`);
  }

  getInventory(cloudName: string): Observable<CloudInventory> {
    return this.http.get<CloudInventory>(`${API_PREFIX}/clouds/${encodeURIComponent(cloudName)}/inventory`);
  }

  getVm(moid: string): Observable<VmSummary> {
    return this.http.get<VmSummary>(`${API_PREFIX}/vms/${encodeURIComponent(moid)}`);
  }

  createMigration(request: MigrationRequest): Observable<Job> {
    return this.http.post<Job>(`${API_PREFIX}/migrations`, request);
  }

  /** All jobs, or only those of one VM when `vm` (a moid) is given. */
  getJobs(vm?: string): Observable<Job[]> {
    const params = vm ? new HttpParams().set('vm', vm) : undefined;
    return this.http.get<Job[]>(`${API_PREFIX}/jobs`, { params });
  }

  cancelJob(id: string): Observable<Job> {
    return this.http.post<Job>(`${API_PREFIX}/jobs/${encodeURIComponent(id)}/cancel`, {});
  }
}
