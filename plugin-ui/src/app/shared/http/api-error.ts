import { HttpErrorResponse } from '@angular/common/http';
import { ApiErrorBody } from '@shared/api/api.models';

/** What a view needs to show an alert for a failed call. */
export interface ApiError {
  status: number;
  /** true for 401: the vSphere Client session has expired */
  sessionExpired: boolean;
  /** the server's `message`, shown as is; null when there is none (a key is shown instead) */
  message: string | null;
}

export function toApiError(err: unknown): ApiError {
  if (err instanceof HttpErrorResponse) {
    const body = err.error as ApiErrorBody | string | null;
    let message: string | null = null;
    if (body && typeof body === 'object' && typeof body.message === 'string' && body.message) {
      message = body.message;
    } else if (typeof body === 'string' && body.trim() && !body.trimStart().startsWith('<')) {
      message = body.trim();
    }
    return { status: err.status, sessionExpired: err.status === 401, message };
  }
  const message = err instanceof Error ? err.message : null;
  return { status: 0, sessionExpired: false, message };
}
