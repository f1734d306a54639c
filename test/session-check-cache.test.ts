import { beforeAll, describe, expect, it } from 'vitest';
import { SessionCheckCache, type SessionCheckCacheOptions } from '../lib/session-check-cache.js';
import { SessionClient } from '../lib/session-client.js';
import { createTestTable, storeOn, type StoreFixture, type TestTable } from './support/dynamo.js';
import { ManualClock } from './support/fakes.js';

const OWNER = 'owner-digest-a';
const MAX_AGE_MS = 1000;

/**
 * Two instances over one table, as two servers behind a balancer: A checks through the cache, B
 * through its own store. Both stores and the cache read the same manual clock; each store has its
 * own client, so each instance's DynamoDB requests are counted apart.
 */
function instances(table: TestTable, options: Partial<SessionCheckCacheOptions> & { ttlSeconds?: number; maxLifetimeSeconds?: number } = {}) {
  const clock = new ManualClock();
  const { ttlSeconds = 3600, maxLifetimeSeconds, ...cacheOptions } = options;
  const storeOptions = { clock, ttlSeconds, ...(maxLifetimeSeconds === undefined ? {} : { maxLifetimeSeconds }) };
  const a: StoreFixture = storeOn(table, storeOptions);
  const b: StoreFixture = storeOn(table, storeOptions);
  const cache = new SessionCheckCache(a.store, { maxAgeMs: MAX_AGE_MS, clock: clock.now, ...cacheOptions });
  return { clock, a, b, cache };
}

/** DynamoDB requests instance A sent during `run`. */
async function requestsOf<T>(fixture: StoreFixture, run: () => Promise<T>): Promise<{ result: T; requests: number; byCommand: Record<string, number> }> {
  fixture.requests.reset();
  const result = await run();
  return { result, requests: fixture.requests.total, byCommand: { ...fixture.requests.byCommand } };
}

describe('SessionCheckCache', () => {
  let table: TestTable;
  beforeAll(async () => {
    table = await createTestTable('check-cache');
  });

  it('a repeated check of a live session is answered from memory (0 requests), the first asks the store (1)', async () => {
    const { a, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    const miss = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(miss.result.active).toBe(true);
    expect(miss.byCommand).toEqual({ GetItemCommand: 1 });
    const hit = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(hit.result).toEqual(miss.result);
    expect(hit.requests).toBe(0);
    expect(cache.stats).toEqual({ hits: 1, storeChecks: 1, coalesced: 0 });
  });

  it('an answer is served for at most maxAgeMs after the store was asked', async () => {
    const { a, clock, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    await cache.check(sessionId, { owner: OWNER });
    clock.advance((MAX_AGE_MS - 1) / 1000);
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(0);
    clock.advance(1 / 1000);
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(1);
  });

  it('the stale window after a DELETE on another instance: still live here for at most maxAgeMs, then gone', async () => {
    const { a, b, clock, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    expect((await cache.check(sessionId, { owner: OWNER })).active).toBe(true);
    expect(await b.store.destroy(sessionId, { owner: OWNER })).toBe(true); // ended through instance B
    // The documented staleness: A has not asked the store since, so it still serves the session...
    const stale = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(stale.result.active).toBe(true);
    expect(stale.requests).toBe(0);
    clock.advance((MAX_AGE_MS - 1) / 1000);
    expect((await cache.check(sessionId, { owner: OWNER })).active).toBe(true);
    // ...and the window ends maxAgeMs after A last asked: the next check reads the store and sees it gone.
    clock.advance(1 / 1000);
    const ended = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(ended.result).toEqual({ active: false });
    expect(ended.requests).toBe(1);
    // Not found is never kept: every later check asks again.
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(1);
  });

  it('a state change made on another instance shows here after at most maxAgeMs', async () => {
    const { a, b, clock, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    expect((await cache.check(sessionId, { owner: OWNER })).active).toBe(true);
    await b.store.updateState(sessionId, { logLevel: 'debug' }, { owner: OWNER });
    const stale = await cache.check(sessionId, { owner: OWNER });
    expect(stale.active && stale.state).toBeUndefined(); // the answer read before the change
    clock.advance(MAX_AGE_MS / 1000);
    const fresh = await cache.check(sessionId, { owner: OWNER });
    expect(fresh.active && fresh.state).toEqual({ logLevel: 'debug' });
  });

  it("this instance's own destroy and updateState take effect at once", async () => {
    const { a, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    await cache.check(sessionId, { owner: OWNER });
    await cache.updateState(sessionId, { subscribe: 'file:///a' }, { owner: OWNER });
    const changed = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(changed.requests).toBe(1);
    expect(changed.result.active && changed.result.state).toEqual({ subscriptions: ['file:///a'] });
    expect(await cache.destroy(sessionId, { owner: OWNER })).toBe(true);
    const ended = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(ended.result).toEqual({ active: false });
    expect(ended.requests).toBe(1);
  });

  it('a check racing this instance\'s destroy is not kept', async () => {
    const { a, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    const racing = cache.check(sessionId, { owner: OWNER }); // in flight while the destroy starts
    expect(await cache.destroy(sessionId, { owner: OWNER })).toBe(true);
    await racing;
    expect(await cache.check(sessionId, { owner: OWNER })).toEqual({ active: false });
  });

  it('never serves an answer once the slide is due: from then on checks go to the store, which slides', async () => {
    // TTL 60 s: a fresh session expires at t+60 and is due to slide once less than 30 s is left; maxAgeMs far longer.
    const { a, clock, cache } = instances(table, { ttlSeconds: 60, maxAgeMs: 600_000 });
    const { sessionId, expiresAt } = await a.store.start({ owner: OWNER });
    await cache.check(sessionId, { owner: OWNER });
    clock.advance(29);
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(0);
    clock.advance(1); // t+30: half the TTL left, the last moment before the slide is due - asked, not served
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).byCommand).toEqual({ GetItemCommand: 1 });
    clock.advance(1); // t+31: due - the store slides
    const slid = await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }));
    expect(slid.byCommand).toEqual({ GetItemCommand: 1, UpdateItemCommand: 1 });
    expect(slid.result.active && slid.result.expiresAt).toBe(expiresAt + 31);
  });

  it('never outlives the stored expiry: near the absolute lifetime every check asks the store, and the session ends on time', async () => {
    // TTL 60 s, lifetime 70 s: the slide at t+31 reaches the lifetime's end (t+70); from t+40 on
    // (half the TTL before it) nothing is kept, and at t+70 the session is over.
    const { a, clock, cache } = instances(table, { ttlSeconds: 60, maxLifetimeSeconds: 70, maxAgeMs: 600_000 });
    const { sessionId, expiresAt } = await a.store.start({ owner: OWNER });
    clock.advance(31);
    const slid = await cache.check(sessionId, { owner: OWNER });
    expect(slid.active && slid.expiresAt).toBe(expiresAt + 10);
    clock.advance(1);
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(0);
    for (const seconds of [8, 20, 9]) {
      clock.advance(seconds); // t+40, t+60, t+69
      expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(1);
    }
    clock.advance(1); // t+70: the stored expiry
    expect(await cache.check(sessionId, { owner: OWNER })).toEqual({ active: false });
  });

  it('an answer is only for the owner it was read with', async () => {
    const { a, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER });
    await cache.check(sessionId, { owner: OWNER });
    const stranger = await requestsOf(a, () => cache.check(sessionId, { owner: 'someone-else' }));
    expect(stranger.result).toEqual({ active: false });
    expect(stranger.requests).toBe(1);
    expect(await cache.check(sessionId)).toEqual({ active: false });
    expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(0);
  });

  it('remembers at most maxEntries sessions, the oldest answer going first', async () => {
    const { a, cache } = instances(table, { maxEntries: 3 });
    const sessions = await Promise.all(Array.from({ length: 5 }, () => a.store.start({ owner: OWNER })));
    for (const { sessionId } of sessions) await cache.check(sessionId, { owner: OWNER });
    expect(cache.size).toBe(3);
    expect((await requestsOf(a, () => cache.check(sessions[4]?.sessionId ?? '', { owner: OWNER }))).requests).toBe(0);
    expect((await requestsOf(a, () => cache.check(sessions[0]?.sessionId ?? '', { owner: OWNER }))).requests).toBe(1);
    expect(cache.size).toBe(3);
  });

  it('answers are frozen: a caller cannot change what the next one is served', async () => {
    const { a, cache } = instances(table);
    const { sessionId } = await a.store.start({ owner: OWNER, metadata: { clientInfo: { name: 'c' } } });
    await cache.updateState(sessionId, { subscribe: 'file:///a' }, { owner: OWNER });
    const status = await cache.check(sessionId, { owner: OWNER });
    if (!status.active) throw new Error('expected an active session');
    expect(() => status.state?.subscriptions?.push('file:///b')).toThrow(TypeError);
    expect(() => Object.assign(status.metadata ?? {}, { clientInfo: null })).toThrow(TypeError);
  });

  it('a malformed id is passed through and never kept', async () => {
    const { a, cache } = instances(table);
    expect(await cache.check('not-a-session-id')).toEqual({ active: false });
    expect(cache.size).toBe(0);
    expect(a.requests.total).toBe(0);
  });

  describe('coalescing', () => {
    it('N checks of one session at the same time cost 1 request; with maxAgeMs 0 nothing is kept after', async () => {
      const { a, cache } = instances(table, { maxAgeMs: 0 });
      const { sessionId } = await a.store.start({ owner: OWNER });
      const burst = await requestsOf(a, () => Promise.all(Array.from({ length: 10 }, () => cache.check(sessionId, { owner: OWNER, signal: new AbortController().signal }))));
      expect(burst.result.every((status) => status.active)).toBe(true);
      expect(burst.byCommand).toEqual({ GetItemCommand: 1 });
      expect(cache.stats).toEqual({ hits: 0, storeChecks: 1, coalesced: 9 });
      expect((await requestsOf(a, () => cache.check(sessionId, { owner: OWNER }))).requests).toBe(1);
      expect(cache.size).toBe(0);
    });

    it('checks under different owners are not coalesced', async () => {
      const { a, cache } = instances(table, { maxAgeMs: 0 });
      const { sessionId } = await a.store.start({ owner: OWNER });
      const both = await requestsOf(a, () => Promise.all([cache.check(sessionId, { owner: OWNER }), cache.check(sessionId, { owner: 'someone-else' })]));
      expect(both.result.map((status) => status.active)).toEqual([true, false]);
      expect(both.requests).toBe(2);
    });

    it('one caller giving up does not fail the others; when all have, the next check asks afresh', async () => {
      const { a, cache } = instances(table, { maxAgeMs: 0 });
      const { sessionId } = await a.store.start({ owner: OWNER });
      const leaving = new AbortController();
      const first = cache.check(sessionId, { owner: OWNER, signal: leaving.signal });
      const second = cache.check(sessionId, { owner: OWNER, signal: new AbortController().signal });
      leaving.abort(new Error('client gone'));
      await expect(first).rejects.toThrow('client gone');
      expect((await second).active).toBe(true);

      const all = [new AbortController(), new AbortController()];
      const abandoned = all.map((controller) => cache.check(sessionId, { owner: OWNER, signal: controller.signal }));
      for (const controller of all) controller.abort(new Error('gone'));
      await Promise.all(abandoned.map((check) => expect(check).rejects.toThrow('gone')));
      expect((await cache.check(sessionId, { owner: OWNER, signal: new AbortController().signal })).active).toBe(true);
    });
  });

  it('needs the TTL when the store does not say it, and refuses nonsense options', () => {
    const client = new SessionClient({ baseUrl: 'http://127.0.0.1:9', signing: { kind: 'none' } });
    expect(() => new SessionCheckCache(client, { maxAgeMs: 1000 })).toThrow(/ttlSeconds is required/);
    expect(() => new SessionCheckCache(client, { maxAgeMs: 1000, ttlSeconds: 3600 })).not.toThrow();
    expect(() => new SessionCheckCache(client, { maxAgeMs: 0 })).not.toThrow(); // coalescing only: nothing kept
    const { a } = instances(table);
    expect(() => new SessionCheckCache(a.store, { maxAgeMs: -1 })).toThrow(RangeError);
    expect(() => new SessionCheckCache(a.store, { maxAgeMs: Number.NaN })).toThrow(RangeError);
    expect(() => new SessionCheckCache(a.store, { maxAgeMs: 1000, maxEntries: 0 })).toThrow(RangeError);
    expect(() => new SessionCheckCache(a.store, { maxAgeMs: 1000, ttlSeconds: 0 })).toThrow(RangeError);
  });
});
