import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../lib/errors.js';
import { isSessionId } from '../lib/session-id.js';
import { createTestTable, localClient, readItem, storeOn, type TestTable } from './support/dynamo.js';
import { DEAD_ENDPOINT, afterCommand, injectAwsError, recordInputs } from './support/fakes.js';

const TTL = 3600;
let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('store');
});

describe('start', () => {
  it('stores a fresh v4 UUID with createdAt and expiresAt = now + TTL (epoch seconds)', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const session = await store.start();
    expect(isSessionId(session.sessionId)).toBe(true);
    expect(session.expiresAt).toBe(clock.seconds + TTL);
    expect(await readItem(table, session.sessionId)).toEqual({ sessionId: session.sessionId, createdAt: clock.seconds, expiresAt: clock.seconds + TTL });
  });

  it('never reads as missing right after it was created: 100 start -> check pairs in a row, every read consistent', async () => {
    const { store, raw } = storeOn(table);
    // DynamoDB Local is always consistent, so the pairs alone would pass without ConsistentRead:
    // the flag on the request actually sent is what protects a real table's fresh sessions.
    const reads = recordInputs(raw, 'GetItemCommand');
    for (let i = 0; i < 100; i++) {
      const { sessionId } = await store.start();
      expect(await store.check(sessionId)).toMatchObject({ active: true });
    }
    expect(reads).toHaveLength(100);
    expect(reads.every((input) => input.ConsistentRead === true)).toBe(true);
  });

  it('costs one PutItem (plus one Scan page when pruning is on)', async () => {
    const off = storeOn(table, { pruneScanLimit: 0 });
    await off.store.start();
    expect(off.requests.byCommand).toEqual({ PutItemCommand: 1 });
    const on = storeOn(table, { pruneScanLimit: 10 });
    await on.store.start();
    expect(on.requests.byCommand.PutItemCommand).toBe(1);
    expect(on.requests.byCommand.ScanCommand).toBe(1);
  });

  it('never overwrites an existing session: a colliding id is retried with a new one', async () => {
    const existing = await storeOn(table).store.start();
    const ids = [existing.sessionId, crypto.randomUUID()];
    const { store, requests, logger } = storeOn(table, { pruneScanLimit: 0, generateId: () => ids.shift() ?? crypto.randomUUID() });
    const session = await store.start();
    expect(session.sessionId).not.toBe(existing.sessionId);
    expect(requests.byCommand.PutItemCommand).toBe(2);
    expect(logger.lines.map((l) => l.message)).toContain('session id collision on start');
  });

  it('throws StoreUnavailableError when DynamoDB is unreachable', async () => {
    const { store } = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    await expect(store.start()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('check', () => {
  it.each(['', ' ', 'not-an-id', 'A'.repeat(36), `${crypto.randomUUID()},${crypto.randomUUID()}`, crypto.randomUUID().toUpperCase(), 'x'.repeat(10_000)])(
    'treats %j as inactive without any DynamoDB call',
    async (id) => {
      const { store, requests } = storeOn(table);
      expect(await store.check(id)).toEqual({ active: false });
      expect(requests.total).toBe(0);
    },
  );

  it('an unknown well-formed id is inactive', async () => {
    expect(await storeOn(table).store.check(crypto.randomUUID())).toEqual({ active: false });
  });

  it('an expired item that TTL has not deleted yet is inactive, and is not revived', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    clock.advance(TTL);
    expect(await readItem(table, sessionId)).toBeDefined();
    expect(await store.check(sessionId)).toEqual({ active: false });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(clock.seconds);
  });

  it('before half the TTL: exactly one consistent GetItem and no write', async () => {
    const { store, clock, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId, expiresAt } = await store.start();
    clock.advance(TTL / 2);
    requests.reset();
    expect(await store.check(sessionId)).toEqual({ active: true, expiresAt });
    expect(requests.byCommand).toEqual({ GetItemCommand: 1 });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(expiresAt);
  });

  it('past half the TTL: slides expiry to now + TTL with one UpdateItem, then is quiet again', async () => {
    const { store, clock, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    clock.advance(TTL / 2 + 1);
    requests.reset();
    expect(await store.check(sessionId)).toEqual({ active: true, expiresAt: clock.seconds + TTL });
    expect(requests.byCommand).toEqual({ GetItemCommand: 1, UpdateItemCommand: 1 });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(clock.seconds + TTL);
    requests.reset();
    await store.check(sessionId);
    expect(requests.byCommand).toEqual({ GetItemCommand: 1 });
  });

  it('a busy session never expires under its user: checks every 20 minutes keep it alive up to its absolute lifetime', async () => {
    const { store, clock, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    const createdAt = clock.seconds;
    requests.reset();
    for (let minute = 20; minute < 24 * 60; minute += 20) {
      clock.advance(20 * 60);
      expect(await store.check(sessionId)).toMatchObject({ active: true });
    }
    // 71 checks; a slide at most about once per half-TTL (every other check here), none once at the cap.
    expect(requests.byCommand.GetItemCommand).toBe(71);
    expect(requests.byCommand.UpdateItemCommand).toBe(35);
    expect((await readItem(table, sessionId))?.expiresAt).toBe(createdAt + 86_400);
  });

  it('the slide never recreates a session destroyed between the read and the write', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await fixture.store.start();
    fixture.clock.advance(TTL - 10);
    afterCommand(fixture.raw, 'GetItemCommand', async () => {
      await table.client.send(new DeleteCommand({ TableName: table.tableName, Key: { sessionId } }));
    });
    expect(await fixture.store.check(sessionId)).toEqual({ active: false });
    expect(await readItem(table, sessionId)).toBeUndefined();
  });

  it('the slide never revives a session that expired between the read and the write', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await fixture.store.start();
    fixture.clock.advance(TTL - 10);
    const expiredAt = fixture.clock.seconds - 1;
    afterCommand(fixture.raw, 'GetItemCommand', async () => {
      await table.client.send(
        new UpdateCommand({ TableName: table.tableName, Key: { sessionId }, UpdateExpression: 'SET expiresAt = :e', ExpressionAttributeValues: { ':e': expiredAt } }),
      );
    });
    expect(await fixture.store.check(sessionId)).toEqual({ active: false });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(expiredAt);
  });

  it('the slide never moves expiry backwards past a concurrent slide, and reports it active without a second read', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await fixture.store.start();
    fixture.clock.advance(TTL - 10);
    const later = fixture.clock.seconds + TTL + 30;
    afterCommand(fixture.raw, 'GetItemCommand', async () => {
      await table.client.send(
        new UpdateCommand({ TableName: table.tableName, Key: { sessionId }, UpdateExpression: 'SET expiresAt = :e', ExpressionAttributeValues: { ':e': later } }),
      );
    });
    fixture.requests.reset();
    expect(await fixture.store.check(sessionId)).toEqual({ active: true, expiresAt: later });
    expect(fixture.requests.byCommand).toEqual({ GetItemCommand: 1, UpdateItemCommand: 1 });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(later);
  });

  it('a failed slide (throttled) still reports the live session active, with its current expiry', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0, raw: localClient({ maxAttempts: 1 }) });
    const { sessionId, expiresAt } = await fixture.store.start();
    fixture.clock.advance(TTL - 10);
    injectAwsError(fixture.raw, 'UpdateItemCommand', () => new ProvisionedThroughputExceededException({ message: 'injected', $metadata: {} }));
    expect(await fixture.store.check(sessionId)).toEqual({ active: true, expiresAt });
    expect(fixture.logger.lines.some((l) => l.level === 'warn' && l.message.includes('slide failed'))).toBe(true);
  });

  it('throws StoreUnavailableError (never "inactive") when DynamoDB is unreachable', async () => {
    const { store } = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    await expect(store.check(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('destroy', () => {
  it('deletes the session and reports it; again, or for an unknown id, reports nothing ended', async () => {
    const { store, requests } = storeOn(table);
    const { sessionId } = await store.start();
    requests.reset();
    await expect(store.destroy(sessionId)).resolves.toBe(true);
    expect(requests.byCommand).toEqual({ DeleteItemCommand: 1 });
    expect(await store.check(sessionId)).toEqual({ active: false });
    await expect(store.destroy(sessionId)).resolves.toBe(false);
    await expect(store.destroy(crypto.randomUUID())).resolves.toBe(false);
  });

  it('an expired session is not "ended" by destroy: false, and the item is left to the sweep', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0, ttlSeconds: 60 });
    const { sessionId } = await store.start();
    clock.advance(61);
    await expect(store.destroy(sessionId)).resolves.toBe(false);
    expect(await readItem(table, sessionId)).toBeDefined();
  });

  it('makes no call for a malformed id', async () => {
    const { store, requests } = storeOn(table);
    await expect(store.destroy('../../etc/passwd')).resolves.toBe(false);
    expect(requests.total).toBe(0);
  });

  it('racing with slides never leaves the session alive (50 races)', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const sessions = await Promise.all(Array.from({ length: 50 }, () => store.start()));
    clock.advance(TTL - 5);
    await Promise.all(
      sessions.map(({ sessionId }) => Promise.all([store.check(sessionId), store.check(sessionId), store.destroy(sessionId), store.check(sessionId)])),
    );
    for (const { sessionId } of sessions) {
      expect(await readItem(table, sessionId)).toBeUndefined();
      expect(await store.check(sessionId)).toEqual({ active: false });
    }
  });

  it('throws StoreUnavailableError when DynamoDB is unreachable', async () => {
    const { store } = storeOn(table, { raw: localClient({ endpoint: DEAD_ENDPOINT, maxAttempts: 1 }) });
    await expect(store.destroy(crypto.randomUUID())).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('a session is a plain item', () => {
  it('one written by hand with the documented layout is honoured', async () => {
    const { store, clock } = storeOn(table);
    const sessionId = crypto.randomUUID();
    await table.client.send(new PutCommand({ TableName: table.tableName, Item: { sessionId, createdAt: clock.seconds, expiresAt: clock.seconds + 100 } }));
    expect(await store.check(sessionId)).toMatchObject({ active: true });
  });
});

describe('owner binding and metadata', () => {
  const initializeParams = { protocolVersion: '2025-06-18', clientInfo: { name: 'inspector', version: '1.0' }, capabilities: { sampling: {} } };

  it('check returns the metadata stored at start, unchanged by slides', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start({ owner: 'user-a', metadata: initializeParams });
    expect(await store.check(sessionId, { owner: 'user-a' })).toMatchObject({ active: true, metadata: initializeParams });
    clock.advance(TTL - 1);
    expect(await store.check(sessionId, { owner: 'user-a' })).toEqual({ active: true, expiresAt: clock.seconds + TTL, metadata: initializeParams });
  });

  it('another owner, or none, sees an owned session as unknown, cannot slide it, and cannot destroy it', async () => {
    const { store, clock, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId, expiresAt } = await store.start({ owner: 'user-a' });
    clock.advance(TTL - 10);
    requests.reset();
    expect(await store.check(sessionId, { owner: 'user-b' })).toEqual({ active: false });
    expect(await store.check(sessionId)).toEqual({ active: false });
    expect(requests.byCommand).toEqual({ GetItemCommand: 2 });
    await expect(store.destroy(sessionId, { owner: 'user-b' })).resolves.toBe(false);
    await expect(store.destroy(sessionId)).resolves.toBe(false);
    expect(await readItem(table, sessionId)).toMatchObject({ owner: 'user-a', expiresAt });
    await expect(store.destroy(sessionId, { owner: 'user-a' })).resolves.toBe(true);
    expect(await readItem(table, sessionId)).toBeUndefined();
  });

  it('a session started without an owner behaves as before; presenting an owner does not match it', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    expect(await store.check(sessionId)).toMatchObject({ active: true });
    expect(await store.check(sessionId, { owner: 'someone' })).toEqual({ active: false });
    await expect(store.destroy(sessionId, { owner: 'someone' })).resolves.toBe(false);
    expect(await store.check(sessionId)).toMatchObject({ active: true });
  });

  it.each([
    [{ owner: '' }, 'invalid_owner'],
    [{ owner: 'x'.repeat(257) }, 'invalid_owner'],
    [{ owner: 'naïve' }, 'invalid_owner'],
    // HTTP trims a header's edge spaces: such an owner could never be presented again.
    [{ owner: ' alice' }, 'invalid_owner'],
    [{ owner: 'alice ' }, 'invalid_owner'],
    [{ owner: ' ' }, 'invalid_owner'],
    [{ metadata: [] as unknown as Record<string, unknown> }, 'invalid_metadata'],
    [{ metadata: { blob: 'x'.repeat(8 * 1024) } }, 'metadata_too_large'],
  ])('rejects %j before any DynamoDB call', async (options, problem) => {
    const { store, requests } = storeOn(table);
    await expect(store.start(options)).rejects.toMatchObject({ name: 'InvalidStartInputError', problem });
    expect(requests.total).toBe(0);
  });

  it('accepts metadata of exactly 8 KB serialized', async () => {
    const metadata = { blob: 'x'.repeat(8 * 1024 - '{"blob":""}'.length) };
    expect(Buffer.byteLength(JSON.stringify(metadata))).toBe(8 * 1024);
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start({ metadata });
    expect(await store.check(sessionId)).toMatchObject({ active: true, metadata });
  });
});

describe('absolute lifetime', () => {
  it('sliding never carries a session past createdAt + SESSION_MAX_LIFETIME_SECONDS', async () => {
    const max = 3 * TTL;
    const { store, clock, requests } = storeOn(table, { pruneScanLimit: 0, maxLifetimeSeconds: max });
    const { sessionId } = await store.start();
    const createdAt = clock.seconds;
    let last = 0;
    for (let minute = 20; minute < 3 * 60; minute += 20) {
      clock.advance(20 * 60);
      const status = await store.check(sessionId);
      expect(status.active).toBe(true);
      if (status.active) last = status.expiresAt;
      expect(last).toBeLessThanOrEqual(createdAt + max);
    }
    expect(last).toBe(createdAt + max);
    requests.reset();
    clock.advance(createdAt + max - clock.seconds - 1);
    expect(await store.check(sessionId)).toEqual({ active: true, expiresAt: createdAt + max });
    expect(requests.byCommand).toEqual({ GetItemCommand: 1 }); // at the cap: nothing left to slide
    clock.advance(1);
    expect(await store.check(sessionId)).toEqual({ active: false });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(createdAt + max);
  });

  it('the cap is in the conditional write itself: a stored createdAt too old for the new expiry refuses the slide', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0, maxLifetimeSeconds: 2 * TTL });
    const { sessionId } = await fixture.store.start();
    fixture.clock.advance(TTL - 10);
    const olderStart = fixture.clock.seconds - 2 * TTL; // as if another writer had recorded an earlier start
    afterCommand(fixture.raw, 'GetItemCommand', async () => {
      await table.client.send(
        new UpdateCommand({ TableName: table.tableName, Key: { sessionId }, UpdateExpression: 'SET createdAt = :c', ExpressionAttributeValues: { ':c': olderStart } }),
      );
    });
    const status = await fixture.store.check(sessionId);
    expect(status).toEqual({ active: true, expiresAt: fixture.clock.seconds + 10 });
    expect((await readItem(table, sessionId))?.expiresAt).toBe(fixture.clock.seconds + 10);
  });

  it('a lifetime shorter than the TTL caps the first expiry too', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0, ttlSeconds: TTL, maxLifetimeSeconds: 600 });
    expect((await store.start()).expiresAt).toBe(clock.seconds + 600);
  });
});
