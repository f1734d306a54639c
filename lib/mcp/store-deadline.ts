import { StoreUnavailableError } from '../errors.js';

/**
 * Races a store call against its deadline. The store is handed the same signal and should give up
 * by itself; this makes sure the gate answers on time even with a store that does not listen.
 */
export function withDeadline<T>(operation: string, signal: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(new StoreUnavailableError(operation, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new StoreUnavailableError(operation, { cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    call(signal).then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
