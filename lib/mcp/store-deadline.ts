import { untilAborted } from '../deadline-budget.js';
import { StoreUnavailableError } from '../errors.js';

/**
 * Races a store call against its deadline. The store is handed the same signal and should give up
 * by itself; this makes sure the gate answers on time even with a store that does not listen.
 */
export async function withDeadline<T>(operation: string, signal: AbortSignal, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  if (signal.aborted) throw new StoreUnavailableError(operation, { cause: signal.reason });
  try {
    return await untilAborted(call(signal), signal);
  } catch (error) {
    if (signal.aborted && error === signal.reason) throw new StoreUnavailableError(operation, { cause: error });
    throw error;
  }
}
