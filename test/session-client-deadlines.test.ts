import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET, sessionClientWorstCaseMs } from '../lib/deadline-budget.js';
import { StoreUnavailableError } from '../lib/errors.js';
import { SessionClient } from '../lib/session-client.js';
import { MAX_RESPONSE_BYTES } from '../lib/session-client-response.js';
import { halfAnsweringEndpoint, hangingEndpoint, type FaultyEndpoint } from './support/fakes.js';
import { scriptedServer, type Reply } from './support/session-client-doubles.js';

const LATE = Symbol('late');

/** How the call ended if it ended within `ms` (the value, or what it threw), else LATE. */
async function outcomeWithin(call: Promise<unknown>, ms: number): Promise<unknown> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      call.then(
        (value) => value,
        (error: unknown) => error,
      ),
      delay(ms, LATE, { signal: timer.signal }),
    ]);
  } finally {
    timer.abort();
  }
}

const opened: { close(): Promise<void> }[] = [];
const open = async <T extends { close(): Promise<void> }>(thing: Promise<T>): Promise<T> => {
  const value = await thing;
  opened.push(value);
  return value;
};
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()));
});

const unsigned = (baseUrl: string, options: Partial<ConstructorParameters<typeof SessionClient>[0]> = {}) =>
  new SessionClient({ baseUrl, signing: { kind: 'none' }, ...options });

/** check, start and destroy, each as the store interface offers it, with the caller's signal if any. */
const everyCall = (client: SessionClient, signal?: AbortSignal): Promise<unknown>[] => {
  const options = signal ? { signal } : {};
  return [client.check(crypto.randomUUID(), options), client.start(options), client.destroy(crypto.randomUUID(), options)];
};

describe('SessionClient deadlines: defaults from DEADLINE_BUDGET', () => {
  it(
    'a hung API (and one that answers half, then stalls): check, start and destroy throw StoreUnavailableError within sessionClientWorstCaseMs(), after sessionClientMaxAttempts attempts each',
    async () => {
      const endpoints: FaultyEndpoint[] = [await open(hangingEndpoint()), await open(halfAnsweringEndpoint())];
      // Counts requests, not connections: fetch may open a spare connection that never carries one.
      const counting = await open(scriptedServer([{ status: 200, hang: true }]));
      const urls = [...endpoints.map((endpoint) => endpoint.url), counting.url];
      const outcomes = await Promise.all(urls.flatMap((url) => everyCall(unsigned(url)).map((call) => outcomeWithin(call, sessionClientWorstCaseMs()))));
      expect(outcomes).toHaveLength(9);
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(StoreUnavailableError);
      expect(counting.seen).toHaveLength(3 * DEADLINE_BUDGET.sessionClientMaxAttempts);
      for (const endpoint of endpoints) expect(endpoint.connections()).toBeGreaterThanOrEqual(3 * DEADLINE_BUDGET.sessionClientMaxAttempts);
    },
    sessionClientWorstCaseMs() + 10_000,
  );

  it('a Retry-After longer than DEADLINE_BUDGET.sessionClientMaxRetryAfterMs is not waited for by default', async () => {
    const tooLong = Math.ceil(DEADLINE_BUDGET.sessionClientMaxRetryAfterMs / 1000) + 1;
    const server = await open(scriptedServer([{ status: 503, headers: { 'retry-after': String(tooLong) } }]));
    const sleeps: number[] = [];
    const client = unsigned(server.url, { sleep: async (ms) => void sleeps.push(ms) });
    await expect(client.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('a Retry-After within DEADLINE_BUDGET.sessionClientMaxRetryAfterMs is waited for, up to sessionClientMaxAttempts attempts', async () => {
    const server = await open(scriptedServer([{ status: 503, headers: { 'retry-after': String(DEADLINE_BUDGET.sessionClientMaxRetryAfterMs / 1000) } }]));
    const sleeps: number[] = [];
    const client = unsigned(server.url, { sleep: async (ms) => void sleeps.push(ms) });
    await expect(client.destroy(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(DEADLINE_BUDGET.sessionClientMaxAttempts);
    expect(sleeps).toEqual(Array(DEADLINE_BUDGET.sessionClientMaxAttempts - 1).fill(DEADLINE_BUDGET.sessionClientMaxRetryAfterMs));
  });
});

describe('SessionClient deadlines: the caller\'s signal', () => {
  const CALLER_DEADLINE_MS = 200;
  /** Slack for scheduling on a busy machine; still far below one attempt's timeout. */
  const SLACK_MS = 500;

  it('a caller signal of 200 ms ends check, start and destroy against a hung API with StoreUnavailableError within about that, after one attempt each', async () => {
    expect(CALLER_DEADLINE_MS + SLACK_MS).toBeLessThan(DEADLINE_BUDGET.sessionClientAttemptTimeoutMs);
    const hung = await open(hangingEndpoint());
    const counting = await open(scriptedServer([{ status: 200, hang: true }]));
    const calls = [hung.url, counting.url].flatMap((url) => everyCall(unsigned(url), AbortSignal.timeout(CALLER_DEADLINE_MS)));
    const outcomes = await Promise.all(calls.map((call) => outcomeWithin(call, CALLER_DEADLINE_MS + SLACK_MS)));
    expect(outcomes).toHaveLength(6);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(counting.seen).toHaveLength(3);
  });

  it('a credential lookup that never answers is bounded too: by the attempt timeout, and by the caller\'s signal', async () => {
    const server = await open(scriptedServer([{ status: 204 }]));
    const signing = { kind: 'sigv4', region: 'eu-west-1', credentials: () => new Promise<never>(() => undefined) } as const;
    const short = new SessionClient({ baseUrl: server.url, signing, timeoutMs: 100, maxAttempts: 2, sleep: async () => undefined });
    expect(await outcomeWithin(short.destroy(crypto.randomUUID()), 2 * 100 + SLACK_MS)).toBeInstanceOf(StoreUnavailableError);
    const patient = new SessionClient({ baseUrl: server.url, signing });
    const call = patient.destroy(crypto.randomUUID(), { signal: AbortSignal.timeout(CALLER_DEADLINE_MS) });
    expect(await outcomeWithin(call, CALLER_DEADLINE_MS + SLACK_MS)).toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(0);
  });

  it('an already-aborted caller signal sends nothing and throws StoreUnavailableError', async () => {
    const server = await open(scriptedServer([{ status: 204 }]));
    const outcomes = await Promise.all(everyCall(unsigned(server.url), AbortSignal.abort()).map((call) => outcomeWithin(call, SLACK_MS)));
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(0);
  });

  it('no retry or sleep after the caller\'s signal aborted: a 503 that arrives after the abort ends the call', async () => {
    const caller = new AbortController();
    const server = await open(
      scriptedServer((): Reply => {
        caller.abort(); // the caller gives up while this attempt is in flight
        return { status: 503, headers: { 'retry-after': '1' } };
      }),
    );
    const sleeps: number[] = [];
    const client = unsigned(server.url, { sleep: async (ms) => void sleeps.push(ms) });
    await expect(client.check(crypto.randomUUID(), { signal: caller.signal })).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('the wait for Retry-After ends when the caller\'s signal aborts', async () => {
    const caller = new AbortController();
    const server = await open(
      scriptedServer((): Reply => {
        setTimeout(() => caller.abort(), 50);
        return { status: 503, headers: { 'retry-after': '1' } };
      }),
    );
    const outcome = await outcomeWithin(unsigned(server.url).check(crypto.randomUUID(), { signal: caller.signal }), 50 + SLACK_MS);
    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect(server.seen).toHaveLength(1);
  });
});

describe('SessionClient deadlines: no body is read without a size cap', () => {
  const PATIENT = { timeoutMs: 30_000 }; // so only the cap, not the attempt timeout, can end the read

  it(`an endless answer is an error at once (SessionServiceError response_too_large after ${MAX_RESPONSE_BYTES} bytes), not a hang`, async () => {
    const server = await open(scriptedServer([{ status: 200, endlessBody: true }]));
    const outcome = await outcomeWithin(unsigned(server.url, PATIENT).check(crypto.randomUUID()), 5000);
    expect(outcome).toMatchObject({ name: 'SessionServiceError', status: 200, code: 'response_too_large' });
    expect(server.seen).toHaveLength(1);
  });

  it('a declared Content-Length over the cap is refused before reading; a body just under it is read', async () => {
    const filler = (bytes: number) => JSON.stringify({ active: false, pad: 'x'.repeat(bytes) });
    const server = await open(
      scriptedServer([
        { status: 404, body: filler(MAX_RESPONSE_BYTES) },
        { status: 404, body: filler(MAX_RESPONSE_BYTES - 100) },
      ]),
    );
    const client = unsigned(server.url, PATIENT);
    await expect(client.destroy(crypto.randomUUID())).rejects.toMatchObject({ name: 'SessionServiceError', code: 'response_too_large' });
    expect(await client.destroy(crypto.randomUUID())).toBe(false);
  });
});
