import { sleepUnlessAborted } from '../../deadline-budget.js';

/** Resolves after `ms`, or at once when `signal` aborts (never rejects); a poll alone never keeps a process alive. */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> => sleepUnlessAborted(ms, signal, { unref: true });

/** Polling delays: from `min`, doubling to `max`; `reset` after progress. */
export class Backoff {
  private current: number;
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {
    this.current = min;
  }
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.current * 2, this.max);
    return delay;
  }
  reset(): void {
    this.current = this.min;
  }
}

/**
 * A store call under its own deadline, which `outer` (a client gone, the handler closed) ends
 * sooner; its timer and listener go once it settles, so polls on a long-lived signal pile nothing up.
 */
export { storeCallWithin as storeCall } from '../call-deadline.js';

/**
 * Aborts when any of the signals does; `dispose` detaches it from them once it is no longer needed
 * (a request's signal tied to the handler's long-lived one must not pile listeners up on it).
 */
export function eitherSignal(...signals: (AbortSignal | undefined)[]): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  const aborted = present.find((signal) => signal.aborted);
  if (aborted) {
    controller.abort(aborted.reason);
    return { signal: controller.signal, dispose: () => undefined };
  }
  const listeners = present.map((signal) => {
    const listener = () => controller.abort(signal.reason);
    signal.addEventListener('abort', listener, { once: true });
    return { signal, listener };
  });
  const dispose = () => {
    for (const { signal, listener } of listeners) signal.removeEventListener('abort', listener);
  };
  controller.signal.addEventListener('abort', dispose, { once: true });
  return { signal: controller.signal, dispose };
}
