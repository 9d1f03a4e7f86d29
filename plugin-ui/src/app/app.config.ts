import { provideHttpClient, withInterceptors } from '@angular/common/http';
import { ApplicationConfig, inject, provideAppInitializer, provideZoneChangeDetection } from '@angular/core';
import { provideAnimations } from '@angular/platform-browser/animations';
import { provideRouter, withHashLocation } from '@angular/router';
import { sessionInterceptor } from '@shared/http/session.interceptor';
import { TranslateService } from '@shared/i18n/translate.service';
import { SdkService } from '@shared/sdk/sdk.service';
import { routes } from './app.routes';

export const appConfig: ApplicationConfig = {
  providers: [
    provideZoneChangeDetection({ eventCoalescing: true }),
    provideRouter(routes, withHashLocation()),
    provideHttpClient(withInterceptors([sessionInterceptor])),
    provideAnimations(),
    provideAppInitializer(async () => {
      const sdk = inject(SdkService);
      const i18n = inject(TranslateService);
      await sdk.initialize();
      i18n.use(sdk.getClientLocale());
      document.documentElement.lang = i18n.locale();
    }),
  ],
};
