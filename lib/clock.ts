/** Milliseconds since the Unix epoch. Injected everywhere so tests move time without sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** DynamoDB TTL works in whole epoch seconds, so every expiry in this project does too. */
export const epochSeconds = (clock: Clock): number => Math.floor(clock() / 1000);

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
