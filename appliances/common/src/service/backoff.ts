/** Exponential backoff with jitter: base·2^attempt, capped, ±20 %. */
export function backoffMs(attempt: number, baseMs = 250, capMs = 5000): number {
  const d = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(d * (0.8 + Math.random() * 0.4));
}

/** Resolves after `ms`, or rejects early when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('cancelled'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
