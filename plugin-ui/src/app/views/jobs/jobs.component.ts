import { ChangeDetectionStrategy, Component, DestroyRef, OnInit, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { DatePipe } from '@angular/common';
import { FormsModule } from '@angular/forms';
import { ClrDatagridComparatorInterface, ClrDatagridModule } from '@clr/angular';
import { JOB_STATES, Job, JobState } from '@shared/api/api.models';
import { ApiService } from '@shared/api/api.service';
import { formatBytes, formatRate, percentDone } from '@shared/format/format';
import { ApiError, toApiError } from '@shared/http/api-error';
import { TranslatePipe } from '@shared/i18n/translate.pipe';
import { SdkService } from '@shared/sdk/sdk.service';
import { ApiErrorAlertComponent } from '@shared/ui/api-error-alert.component';
import { JobStateLabelComponent, jobStateKey } from '@shared/ui/job-state-label.component';

class ProgressComparator implements ClrDatagridComparatorInterface<Job> {
  compare(a: Job, b: Job): number {
    return percentDone(a.bytesDone, a.bytesTotal) - percentDone(b.bytesDone, b.bytesTotal);
  }
}

class DateComparator implements ClrDatagridComparatorInterface<Job> {
  constructor(private readonly field: 'createdAt' | 'updatedAt') {}
  compare(a: Job, b: Job): number {
    return Date.parse(a[this.field]) - Date.parse(b[this.field]);
  }
}

/** The `hdm.jobs` global view: every migration job in a sortable, filterable Clarity datagrid. */
@Component({
  selector: 'hdm-jobs',
  imports: [ClrDatagridModule, FormsModule, DatePipe, TranslatePipe, ApiErrorAlertComponent, JobStateLabelComponent],
  changeDetection: ChangeDetectionStrategy.OnPush,
  templateUrl: './jobs.component.html',
  styleUrl: './jobs.component.css',
})
export class JobsComponent implements OnInit {
  private readonly api = inject(ApiService);
  private readonly sdk = inject(SdkService);
  private readonly destroyRef = inject(DestroyRef);

  readonly states = JOB_STATES;
  readonly stateKey = jobStateKey;
  readonly jobs = signal<Job[]>([]);
  readonly loading = signal(false);
  readonly error = signal<ApiError | null>(null);
  readonly stateFilter = signal<JobState | ''>('');

  readonly filtered = computed(() => {
    const s = this.stateFilter();
    return s ? this.jobs().filter((j) => j.state === s) : this.jobs();
  });

  readonly progressComparator = new ProgressComparator();
  readonly createdComparator = new DateComparator('createdAt');
  readonly updatedComparator = new DateComparator('updatedAt');

  readonly trackById = (_: number, job: Job): string => job.id;
  readonly percentDone = percentDone;
  readonly formatBytes = formatBytes;
  readonly formatRate = formatRate;

  async ngOnInit(): Promise<void> {
    await this.sdk.initialize();
    this.refresh();
  }

  refresh(): void {
    this.loading.set(true);
    this.api
      .getJobs()
      .pipe(takeUntilDestroyed(this.destroyRef))
      .subscribe({
        next: (jobs) => {
          this.jobs.set(jobs);
          this.error.set(null);
          this.loading.set(false);
        },
        error: (e) => {
          this.error.set(toApiError(e));
          this.loading.set(false);
        },
      });
  }

  setStateFilter(value: string): void {
    this.stateFilter.set((JOB_STATES as readonly string[]).includes(value) ? (value as JobState) : '');
  }
}
