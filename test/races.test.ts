import { scanAll } from '../scripts/local/scan-all.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, readItem, storeOn, type TestTable } from './support/dynamo.js';

const TTL = 3600;
let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('races');
});

/** Runs tasks with at most `limit` in flight. */
async function inBatches<T>(items: T[], limit: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(run));
}

describe('races at volume', () => {
  it('1,000 destroy-versus-slide races leave zero sessions alive', async () => {
    const { store, clock } = storeOn(table, { pruneScanLimit: 0 });
    const sessions: string[] = [];
    await inBatches(Array.from({ length: 1000 }, (_, i) => i), 50, async () => sessions.push((await store.start()).sessionId));
    clock.advance(TTL / 2 + 60); // every check now wants to slide
    await inBatches(sessions, 50, (sessionId) => Promise.all([store.check(sessionId), store.destroy(sessionId), store.check(sessionId)]));
    const ids = new Set(sessions);
    const { items } = await scanAll(table.client, { TableName: table.tableName, ConsistentRead: true });
    expect(items.filter((item) => ids.has(String(item.sessionId)))).toHaveLength(0);
    const checks = await Promise.all(sessions.slice(0, 100).map((sessionId) => store.check(sessionId)));
    expect(checks.every((status) => !status.active)).toBe(true);
  }, 120_000);

  it('200 concurrent checks of one session in its slide window: all active, one slide wins, one consistent expiry', async () => {
    let slides = 0;
    const { store, clock } = storeOn(table, { pruneScanLimit: 0, events: { slid: () => slides++, pruned: () => undefined } });
    const { sessionId } = await store.start();
    clock.advance(TTL - 30);
    const results = await Promise.all(Array.from({ length: 200 }, () => store.check(sessionId)));
    expect(results.every((status) => status.active)).toBe(true);
    const expiries = new Set(results.map((status) => (status.active ? status.expiresAt : 0)));
    const stored = (await readItem(table, sessionId))?.expiresAt;
    expect([...expiries]).toEqual([clock.seconds + TTL]);
    expect(stored).toBe(clock.seconds + TTL);
    expect(slides).toBe(1);
  });

  it('10,000 starts give 10,000 distinct ids', async () => {
    const { store } = storeOn(table, { pruneScanLimit: 0 });
    const ids: string[] = [];
    await inBatches(Array.from({ length: 10_000 }, (_, i) => i), 50, async () => ids.push((await store.start()).sessionId));
    expect(ids).toHaveLength(10_000);
    expect(new Set(ids).size).toBe(10_000);
  }, 180_000);
});
