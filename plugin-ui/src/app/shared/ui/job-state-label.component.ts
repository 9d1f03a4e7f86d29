import { ChangeDetectionStrategy, Component, computed, input } from '@angular/core';
import { JobState } from '@shared/api/api.models';
import { TranslatePipe } from '@shared/i18n/translate.pipe';

const LABELS: Record<JobState, { key: string; css: string }> = {
  queued: { key: 'hdm.jobState.queued', css: 'label-purple' },
  running: { key: 'hdm.jobState.running', css: 'label-info' },
  done: { key: 'hdm.jobState.done', css: 'label-success' },
  failed: { key: 'hdm.jobState.failed', css: 'label-danger' },
  cancelled: { key: 'hdm.jobState.cancelled', css: 'label-warning' },
};

export function jobStateKey(state: JobState | string): string {
  return (LABELS as Record<string, { key: string }>)[state]?.key ?? 'hdm.jobState.unknown';
}

/** A Clarity label for a job state. */
@Component({
  selector: 'hdm-job-state-label',
  imports: [TranslatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `<span class="label" [class]="css()" [attr.data-state]="state()">{{ key() | translate }}</span>`,
})
export class JobStateLabelComponent {
  readonly state = input.required<JobState | string>();
  readonly key = computed(() => jobStateKey(this.state()));
  readonly css = computed(() => 'label ' + ((LABELS as Record<string, { css: string }>)[this.state()]?.css ?? ''));
}
