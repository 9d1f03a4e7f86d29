import { ChangeDetectionStrategy, Component, computed, inject, input } from '@angular/core';
import { ClrAlertModule } from '@clr/angular';
import { SessionStateService } from '@shared/http/session-state.service';
import { ApiError } from '@shared/http/api-error';
import { TranslatePipe } from '@shared/i18n/translate.pipe';

/**
 * A danger alert for a failed API call: the session-expired text for a 401 (or once any call saw
 * one), the server's message as is otherwise, and a generic text when the server sent none.
 */
@Component({
  selector: 'hdm-api-error-alert',
  imports: [ClrAlertModule, TranslatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (sessionExpired()) {
      <clr-alert clrAlertType="danger" [clrAlertClosable]="false" class="hdm-session-expired">
        <clr-alert-item>
          <span class="alert-text">{{ 'hdm.common.sessionExpired' | translate }}</span>
        </clr-alert-item>
      </clr-alert>
    } @else if (error(); as err) {
      <clr-alert clrAlertType="danger" [clrAlertClosable]="false" class="hdm-api-error">
        <clr-alert-item>
          <span class="alert-text">
            @if (err.message) {
              {{ err.message }}
            } @else {
              {{ 'hdm.common.requestFailed' | translate: { status: err.status } }}
            }
          </span>
        </clr-alert-item>
      </clr-alert>
    }
  `,
})
export class ApiErrorAlertComponent {
  readonly error = input<ApiError | null>(null);
  private readonly session = inject(SessionStateService);
  readonly sessionExpired = computed(() => this.session.expired() || !!this.error()?.sessionExpired);
}
