import { Routes } from '@angular/router';

/**
 * One route per plugin.json extension point; the path is the uri's hash (`index.html#/<path>`) and
 * the component lives in `views/<path>/`.
 */
export const routes: Routes = [
  { path: 'vm-migrate', loadComponent: () => import('@views/vm-migrate/vm-migrate.component').then((m) => m.VmMigrateComponent) },
  { path: 'vm-monitor', loadComponent: () => import('@views/vm-monitor/vm-monitor.component').then((m) => m.VmMonitorComponent) },
  { path: 'jobs', loadComponent: () => import('@views/jobs/jobs.component').then((m) => m.JobsComponent) },
  { path: '', pathMatch: 'full', redirectTo: 'jobs' },
  { path: '**', redirectTo: 'jobs' },
];
