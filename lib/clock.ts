/** Milliseconds since the Unix epoch. Injected everywhere so tests move time without sleeping. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** DynamoDB TTL works in whole epoch seconds, so every expiry in this project does too. */
export const epochSeconds = (clock: Clock): number => Math.floor(clock() / 1000);
