import { ChangeDetectionStrategy, Component, DestroyRef, OnInit, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { DatePipe } from '@angular/common';
import { ActivatedRoute } from '@angular/router';
import { ClrAlertModule, ClrSpinnerModule } from '@clr/angular';
import { Subscription, catchError, of, switchMap, timer } from 'rxjs';
import { Job } from '@shared/api/api.models';
import { ApiService } from '@shared/api/api.service';
import { formatBytes, formatRate, percentDone } from '@shared/format/format';
import { ApiError, toApiError } from '@shared/http/api-error';
import { TranslatePipe } from '@shared/i18n/translate.pipe';
import { SdkService } from '@shared/sdk/sdk.service';
import { resolveVmMoid } from '@shared/sdk/vm-context';
import { ApiErrorAlertComponent } from '@shared/ui/api-error-alert.component';
import { JobStateLabelComponent } from '@shared/ui/job-state-label.component';

export const MONITOR_POLL_MS = 2000;

/** The newest job by creation time (ties: last in the list). */
export function latestJob(jobs: Job[]): Job | null {
  let best: Job | null = null;
  for (const j of jobs) {
    if (!best || Date.parse(j.createdAt) >= Date.parse(best.createdAt)) best = j;
  }
  return best;
}

/** The `hdm.vm.monitor` view: the latest migration job of the current VM, polled every 2 s. */
@Component({
  selector: 'hdm-vm-monitor',
  imports: [ClrAlertModule, ClrSpinnerModule, DatePipe, TranslatePipe, ApiErrorAlertComponent, JobStateLabelComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './vm-monitor.component.html',
  styleUrl: './vm-monitor.component.css',
})
export class VmMonitorComponent implements OnInit {
  private readonly api = inject(ApiService);
  private readonly sdk = inject(SdkService);
  private readonly route = inject(ActivatedRoute);
  private readonly destroyRef = inject(DestroyRef);
  private poll?: Subscription;

  readonly moid = signal<string | null>(null);
  readonly job = signal<Job | null>(null);
  readonly loaded = signal(false);
  readonly initialized = signal(false);
  readonly error = signal<ApiError | null>(null);
  readonly cancelling = signal(false);

  readonly percent = computed(() => {
    const j = this.job();
    return j ? percentDone(j.bytesDone, j.bytesTotal) : 0;
  });
  readonly active = computed(() => {
    const s = this.job()?.state;
    return s === 'running' || s === 'queued';
  });
  readonly finished = computed(() => {
    const s = this.job()?.state;
    return s === 'done' || s === 'failed' || s === 'cancelled';
  });

  readonly formatBytes = formatBytes;
  readonly formatRate = formatRate;

  async ngOnInit(): Promise<void> {
    await this.sdk.initialize();
    const moid = resolveVmMoid(this.sdk, this.route.snapshot);
    this.moid.set(moid);
    this.initialized.set(true);
    if (moid) this.startPolling(moid);
  }

  private startPolling(moid: string): void {
    this.poll?.unsubscribe();
    this.poll = timer(0, MONITOR_POLL_MS)
      .pipe(
        switchMap(() =>
          this.api.getJobs(moid).pipe(
            catchError((e: unknown) => {
              this.onError(toApiError(e));
              return of(null);
            }),
          ),
        ),
        takeUntilDestroyed(this.destroyRef),
      )
      .subscribe((jobs) => {
        if (!jobs) return;
        this.error.set(null);
        this.job.set(latestJob(jobs));
        this.loaded.set(true);
      });
  }

  private onError(err: ApiError): void {
    this.error.set(err);
    this.loaded.set(true);
    // An expired session does not come back by polling: stop until the user logs in again.
    if (err.sessionExpired) this.poll?.unsubscribe();
  }

  cancel(): void {
    const j = this.job();
    if (!j || this.cancelling()) return;
    this.cancelling.set(true);
    this.api
      .cancelJob(j.id)
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (updated) => {
          this.cancelling.set(false);
          if (updated && updated.id === j.id) this.job.set(updated);
        },
        error: (e) => {
          this.cancelling.set(false);
          this.error.set(toApiError(e));
        },
      });
  }
}
