/**
 * Waiting on things that happen on their own time (a notification arrives, a process writes an
 * event) without polling or sleeping: whatever changes what a condition reads calls `changed()`,
 * which re-checks every pending wait. Each wait has a deadline, so a missing event fails the test
 * with its label instead of hanging it.
 */
export const DEFAULT_WAIT_MS = 20_000;

interface Pending {
  check(): void;
}

export class Conditions {
  private readonly pending = new Set<Pending>();

  /** Re-checks every pending wait: call it whenever something a condition reads has changed. */
  changed(): void {
    for (const waiter of [...this.pending]) waiter.check();
  }

  /** Resolves with what `probe` returns once it returns something other than undefined. */
  find<T>(label: string, probe: () => T | undefined, ms = DEFAULT_WAIT_MS, describe?: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Pending = {
        check: () => {
          let value: T | undefined;
          try {
            value = probe();
          } catch (error) {
            done();
            reject(error instanceof Error ? error : new Error(String(error)));
            return;
          }
          if (value === undefined) return;
          done();
          resolve(value);
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waited ${ms} ms for ${label}${describe ? `\n${describe()}` : ''}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(waiter);
      };
      this.pending.add(waiter);
      waiter.check();
    });
  }

  /** Resolves once `predicate` holds. */
  async until(label: string, predicate: () => boolean, ms = DEFAULT_WAIT_MS, describe?: () => string): Promise<void> {
    await this.find(label, () => (predicate() ? true : undefined), ms, describe);
  }
}

/** A promise settled by hand: a test holds something (a request, a handler) until it says so. */
export class Gate {
  readonly opened: Promise<void>;
  open: () => void = () => undefined;
  constructor() {
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
  }
}

/** `promise`, or a rejection naming `label` if it has not settled within `ms`: a bound, never a wait. */
export async function within<T>(ms: number, label: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}
