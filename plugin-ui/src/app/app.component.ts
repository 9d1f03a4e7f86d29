import { ChangeDetectionStrategy, Component, inject } from '@angular/core';
import { RouterOutlet } from '@angular/router';
import { ClrAlertModule } from '@clr/angular';
import { TranslatePipe } from '@shared/i18n/translate.pipe';
import { SdkService } from '@shared/sdk/sdk.service';

/** Root: the routed view, plus a note when running outside the vSphere Client (no SDK). */
@Component({
  selector: 'hdm-root',
  imports: [RouterOutlet, ClrAlertModule, TranslatePipe],
  changeDetection: ChangeDetectionStrategy.OnPush,
  template: `
    @if (!sdkAvailable) {
      <clr-alert clrAlertType="info" [clrAlertAppLevel]="true" [clrAlertClosable]="true" class="hdm-sdk-missing">
        <clr-alert-item>
          <span class="alert-text">{{ 'hdm.common.sdkMissing' | translate }}</span>
        </clr-alert-item>
      </clr-alert>
    }
    <router-outlet />
  `,
})
export class AppComponent {
  readonly sdkAvailable = inject(SdkService).available;
}
