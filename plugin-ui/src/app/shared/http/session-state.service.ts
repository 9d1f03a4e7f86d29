import { Injectable, signal } from '@angular/core';

/** Set by the session interceptor when the server answers 401; views show `hdm.common.sessionExpired`. */
@Injectable({ providedIn: 'root' })
export class SessionStateService {
  readonly expired = signal(false);

  markExpired(): void {
    this.expired.set(true);
  }

  reset(): void {
    this.expired.set(false);
  }
}
