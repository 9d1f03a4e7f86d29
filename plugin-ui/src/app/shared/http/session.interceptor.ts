import { HttpErrorResponse, HttpHandlerFn, HttpInterceptorFn, HttpRequest } from '@angular/common/http';
import { inject } from '@angular/core';
import { SdkService } from '@shared/sdk/sdk.service';
import { API_PREFIX } from '@shared/api/api.service';
import { from, switchMap, tap } from 'rxjs';
import { SessionStateService } from './session-state.service';

export const SESSION_HEADER = 'vmware-api-session-id';

/**
 * For every `/api/v1/...` call: prefix the plugin server origin (as proxied by the vSphere Client),
 * add the vSphere Client session token as `vmware-api-session-id`, and flag 401 answers as an
 * expired session. Other URLs pass untouched.
 */
export const sessionInterceptor: HttpInterceptorFn = (req: HttpRequest<unknown>, next: HttpHandlerFn) => {
  if (!req.url.startsWith(API_PREFIX + '/')) return next(req);
  const sdk = inject(SdkService);
  const session = inject(SessionStateService);
  return from(sdk.getSessionToken()).pipe(
    switchMap((token) => {
      const url = sdk.getPluginServerOrigin() + req.url;
      const authed = req.clone({
        url,
        setHeaders: token ? { [SESSION_HEADER]: token } : {},
      });
      return next(authed);
    }),
    tap({
      error: (err: unknown) => {
        if (err instanceof HttpErrorResponse && err.status === 401) session.markExpired();
      },
    }),
  );
};
