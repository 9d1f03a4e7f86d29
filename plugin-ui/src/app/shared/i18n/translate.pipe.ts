import { Pipe, PipeTransform, inject } from '@angular/core';
import { TranslateParams, TranslateService } from './translate.service';

/** `{{ 'hdm.jobs.title' | translate }}` or `{{ 'hdm.monitor.progress' | translate: { pct: 40 } }}` */
@Pipe({ name: 'translate', pure: false })
export class TranslatePipe implements PipeTransform {
  private readonly i18n = inject(TranslateService);

  transform(key: string, params?: TranslateParams): string {
    // Reading the locale signal makes templates re-render when the locale changes.
    this.i18n.locale();
    return this.i18n.instant(key, params);
  }
}
