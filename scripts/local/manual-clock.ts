import type { Clock } from '../../lib/clock.js';

/** A clock moved by hand: for tests and the benchmark, so expiry needs no sleeping. */
export class ManualClock {
  private ms: number;

  constructor(startMs = Date.now()) {
    this.ms = startMs;
  }

  readonly now: Clock = () => this.ms;

  get seconds(): number {
    return Math.floor(this.ms / 1000);
  }

  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}
