import { DeleteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../lib/errors.js';
import { SUBSCRIPTIONS_MAX, SUBSCRIPTION_URI_MAX_BYTES, parseStateChange, type SessionStateChange } from '../lib/session-store.js';
import { createTestTable, localClient, readItem, storeOn, type TestTable } from './support/dynamo.js';
import { afterCommand, hangingEndpoint, recordInputs } from './support/fakes.js';

const TTL = 3600;
let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('state');
});

describe('updateState', () => {
  it('round trip: each change is one conditional UpdateItem returning the new state, and every check returns it', async () => {
    const { store, requests, raw } = storeOn(table, { pruneScanLimit: 0 });
    const metadata = { protocolVersion: '2025-11-25' };
    const { sessionId, expiresAt } = await store.start({ owner: 'alice', metadata });
    expect(await store.check(sessionId, { owner: 'alice' })).toEqual({ active: true, expiresAt, metadata }); // no state until one is set
    const updates = recordInputs(raw, 'UpdateItemCommand');
    requests.reset();
    expect(await store.updateState(sessionId, { logLevel: 'warning' }, { owner: 'alice' })).toEqual({ active: true, expiresAt, metadata, state: { logLevel: 'warning' } });
    expect(requests.byCommand).toEqual({ UpdateItemCommand: 1 });
    expect(updates[0]).toMatchObject({ ReturnValues: 'ALL_NEW' });
    expect(String(updates[0]?.ConditionExpression)).toContain('attribute_exists');
    await store.updateState(sessionId, { subscribe: 'file:///b.txt' }, { owner: 'alice' });
    const after = await store.updateState(sessionId, { subscribe: 'file:///a.txt' }, { owner: 'alice' });
    expect(after).toEqual({ active: true, expiresAt, metadata, state: { logLevel: 'warning', subscriptions: ['file:///a.txt', 'file:///b.txt'] } });
    requests.reset();
    expect(await store.check(sessionId, { owner: 'alice' })).toEqual(after);
    expect(requests.byCommand).toEqual({ GetItemCommand: 1 }); // state costs nothing beyond the check
    // Stored as documented: logLevel (S), subscriptions (String Set).
    expect(await readItem(table, sessionId)).toMatchObject({ logLevel: 'warning', subscriptions: new Set(['file:///a.txt', 'file:///b.txt']) });

    await store.updateState(sessionId, { logLevel: 'debug' }, { owner: 'alice' });
    await store.updateState(sessionId, { subscribe: 'file:///a.txt' }, { owner: 'alice' }); // already there: no duplicate
    await store.updateState(sessionId, { unsubscribe: 'file:///b.txt' }, { owner: 'alice' });
    await store.updateState(sessionId, { unsubscribe: 'file:///never.txt' }, { owner: 'alice' });
    expect(await store.check(sessionId, { owner: 'alice' })).toMatchObject({ state: { logLevel: 'debug', subscriptions: ['file:///a.txt'] } });
    await store.updateState(sessionId, { unsubscribe: 'file:///a.txt' }, { owner: 'alice' });
    expect(await store.check(sessionId, { owner: 'alice' })).toMatchObject({ state: { logLevel: 'debug' } });
    expect((await readItem(table, sessionId))?.subscriptions).toBeUndefined(); // DynamoDB drops an emptied set
  });

  it('a session without an owner: changed without one, not with one', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    expect(await store.updateState(sessionId, { logLevel: 'info' }, { owner: 'someone' })).toEqual({ active: false });
    expect(await store.updateState(sessionId, { logLevel: 'info' })).toMatchObject({ active: true, state: { logLevel: 'info' } });
  });

  it("another owner's change is inactive and changes nothing", async () => {
    const { store, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start({ owner: 'alice' });
    await store.updateState(sessionId, { subscribe: 'file:///mine' }, { owner: 'alice' });
    const before = await readItem(table, sessionId);
    requests.reset();
    for (const change of [{ logLevel: 'emergency' }, { subscribe: 'file:///theirs' }, { unsubscribe: 'file:///mine' }] satisfies SessionStateChange[]) {
      expect(await store.updateState(sessionId, change, { owner: 'mallory' })).toEqual({ active: false });
      expect(await store.updateState(sessionId, change)).toEqual({ active: false });
    }
    expect(requests.byCommand).toEqual({ UpdateItemCommand: 6 });
    expect(await readItem(table, sessionId)).toEqual(before);
  });

  it('an expired session is inactive and not revived', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId, expiresAt } = await store.start();
    clock.advance(TTL);
    expect(await store.updateState(sessionId, { logLevel: 'info' })).toEqual({ active: false });
    expect(await store.updateState(sessionId, { subscribe: 'file:///x' })).toEqual({ active: false });
    const item = await readItem(table, sessionId);
    expect(item?.expiresAt).toBe(expiresAt);
    expect(item?.logLevel).toBeUndefined();
    expect(item?.subscriptions).toBeUndefined();
  });

  it('a destroyed session, or an unknown id, is not resurrected (UpdateItem would otherwise upsert)', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    await store.destroy(sessionId);
    expect(await store.updateState(sessionId, { logLevel: 'info' })).toEqual({ active: false });
    expect(await store.updateState(sessionId, { subscribe: 'file:///x' })).toEqual({ active: false });
    expect(await readItem(table, sessionId)).toBeUndefined();
    const unknown = crypto.randomUUID();
    expect(await store.updateState(unknown, { unsubscribe: 'file:///x' })).toEqual({ active: false });
    expect(await readItem(table, unknown)).toBeUndefined();
  });

  it('a session destroyed between a check and the change stays destroyed', async () => {
    const fixture = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await fixture.store.start();
    afterCommand(fixture.raw, 'GetItemCommand', async () => {
      await table.client.send(new DeleteCommand({ TableName: table.tableName, Key: { sessionId } }));
    });
    expect(await fixture.store.check(sessionId)).toMatchObject({ active: true });
    expect(await fixture.store.updateState(sessionId, { logLevel: 'info' })).toEqual({ active: false });
    expect(await readItem(table, sessionId)).toBeUndefined();
  });

  it('does not slide the expiry', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId, expiresAt } = await store.start();
    clock.advance(TTL - 10);
    expect(await store.updateState(sessionId, { logLevel: 'info' })).toMatchObject({ active: true, expiresAt });
  });

  it('a malformed session id is inactive without any DynamoDB call', async () => {
    const { store, requests } = storeOn(table);
    expect(await store.updateState('not-an-id', { logLevel: 'info' })).toEqual({ active: false });
    expect(requests.total).toBe(0);
  });

  it('throws StoreUnavailableError (never "inactive") by its deadline when DynamoDB hangs', async () => {
    const hanging = await hangingEndpoint();
    try {
      const { store } = storeOn(table, { raw: localClient({ endpoint: hanging.url }) });
      await expect(store.updateState(crypto.randomUUID(), { logLevel: 'info' })).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(hanging.connections()).toBeGreaterThan(0);
    } finally {
      await hanging.close();
    }
  });
});

describe('bounds', () => {
  it.each([
    [{ logLevel: 'verbose' }, 'invalid_log_level'],
    [{ logLevel: 'INFO' }, 'invalid_log_level'],
    [{ subscribe: '' }, 'invalid_uri'],
    [{ subscribe: 42 }, 'invalid_uri'],
    [{ unsubscribe: '' }, 'invalid_uri'],
    [{ subscribe: 'x'.repeat(SUBSCRIPTION_URI_MAX_BYTES + 1) }, 'uri_too_long'],
    [{ subscribe: 'é'.repeat(SUBSCRIPTION_URI_MAX_BYTES / 2 + 1) }, 'uri_too_long'], // bytes, not characters
    [{}, 'invalid_change'],
    [{ logLevel: 'info', subscribe: 'file:///x' }, 'invalid_change'],
    [{ level: 'info' }, 'invalid_change'],
    [null, 'invalid_change'],
    [['logLevel', 'info'], 'invalid_change'],
    ['info', 'invalid_change'],
  ])('refuses %j with problem %s before any DynamoDB call', async (change, problem) => {
    expect(() => parseStateChange(change)).toThrow(expect.objectContaining({ name: 'InvalidStateChangeError', problem }));
    const { store, requests } = storeOn(table);
    await expect(store.updateState(crypto.randomUUID(), change as SessionStateChange)).rejects.toMatchObject({ name: 'InvalidStateChangeError', problem });
    expect(requests.total).toBe(0);
  });

  it('accepts a URI of exactly the maximum size', async () => {
    const uri = 'x'.repeat(SUBSCRIPTION_URI_MAX_BYTES);
    expect(parseStateChange({ subscribe: uri })).toEqual({ subscribe: uri });
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    expect(await store.updateState(sessionId, { subscribe: uri })).toMatchObject({ state: { subscriptions: [uri] } });
  });

  it(`a full set (${SUBSCRIPTIONS_MAX}) refuses another URI with too_many_subscriptions, in one request, but takes a repeat or an unsubscribe`, async () => {
    const { store, requests } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start({ owner: 'alice' });
    const uris = Array.from({ length: SUBSCRIPTIONS_MAX }, (_, i) => `file:///r/${String(i).padStart(3, '0')}`);
    // Seeded in one write: the bound under test is the store's, not how the set got full.
    await table.client.send(
      new UpdateCommand({ TableName: table.tableName, Key: { sessionId }, UpdateExpression: 'ADD subscriptions :s', ExpressionAttributeValues: { ':s': new Set(uris) } }),
    );
    requests.reset();
    await expect(store.updateState(sessionId, { subscribe: 'file:///one-too-many' }, { owner: 'alice' })).rejects.toMatchObject({
      name: 'InvalidStateChangeError',
      problem: 'too_many_subscriptions',
    });
    expect(requests.byCommand).toEqual({ UpdateItemCommand: 1 });
    expect((await readItem(table, sessionId))?.subscriptions).toEqual(new Set(uris));
    // Someone else's full session reads as gone, not as full.
    expect(await store.updateState(sessionId, { subscribe: 'file:///one-too-many' }, { owner: 'mallory' })).toEqual({ active: false });
    expect(await store.updateState(sessionId, { subscribe: uris[0] ?? '' }, { owner: 'alice' })).toMatchObject({ active: true });
    await store.updateState(sessionId, { unsubscribe: uris[0] ?? '' }, { owner: 'alice' });
    const status = await store.updateState(sessionId, { subscribe: 'file:///one-too-many' }, { owner: 'alice' });
    expect(status.active && status.state?.subscriptions).toHaveLength(SUBSCRIPTIONS_MAX);
  });

  it('concurrent subscribes never push the set past the maximum', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId } = await store.start();
    const results = await Promise.allSettled(Array.from({ length: SUBSCRIPTIONS_MAX + 20 }, (_, i) => store.updateState(sessionId, { subscribe: `file:///c/${i}` })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(SUBSCRIPTIONS_MAX);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r.reason as { problem?: string }).problem === 'too_many_subscriptions')).toBe(true);
    expect(((await readItem(table, sessionId))?.subscriptions as Set<string>).size).toBe(SUBSCRIPTIONS_MAX);
  });

  it('a level written by hand that the library does not know is left out of the state', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const { sessionId, expiresAt } = await store.start();
    await table.client.send(new UpdateCommand({ TableName: table.tableName, Key: { sessionId }, UpdateExpression: 'SET logLevel = :l', ExpressionAttributeValues: { ':l': 'loud' } }));
    expect(await store.check(sessionId)).toEqual({ active: true, expiresAt });
  });
});
