import { scanAll } from '../lib/local/scan-all.js';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTestTable, localClient, readItem, seedItems, storeOn, type TestTable } from './support/dynamo.js';
import { ManualClock, injectAwsError } from './support/fakes.js';

const LIMIT = 100;

async function allIds(table: TestTable): Promise<Set<string>> {
  const { items } = await scanAll(table.client, { TableName: table.tableName, ConsistentRead: true });
  return new Set(items.map((item) => String(item.sessionId)));
}

describe('prune inside start, on a table of 1,000 sessions (10 % expired)', () => {
  let table: TestTable;
  const clock = new ManualClock();
  const expired: string[] = [];
  const live: string[] = [];

  beforeAll(async () => {
    table = await createTestTable('prune');
    const now = clock.seconds;
    const items = Array.from({ length: 1000 }, (_, i) => {
      const sessionId = crypto.randomUUID();
      const isExpired = i % 10 === 0;
      (isExpired ? expired : live).push(sessionId);
      return { sessionId, createdAt: now - 7200, expiresAt: isExpired ? now - 3600 : now + 1800 };
    });
    await seedItems(table, items);
  });

  it('scans at most PRUNE_SCAN_LIMIT items per start, and repeated starts remove every expired item', async () => {
    const { store, requests } = storeOn(table, { clock, pruneScanLimit: LIMIT });
    const started: string[] = [];
    let starts = 0;
    while (starts < 50) {
      requests.reset();
      started.push((await store.start()).sessionId);
      starts++;
      expect(requests.byCommand.ScanCommand).toBe(1);
      expect(requests.itemsScanned).toBeLessThanOrEqual(LIMIT);
      expect(store.lastSweep?.scanned).toBe(requests.itemsScanned);
      if (store.lastSweep?.lapCompleted) break;
    }
    // One lap over 1,000+ items at 100 per start takes about 11 starts.
    expect(starts).toBeLessThanOrEqual(12);
    const remaining = await allIds(table);
    for (const id of expired) expect(remaining.has(id)).toBe(false);
    for (const id of [...live, ...started]) expect(remaining.has(id)).toBe(true);
  });

  it('deletes only what expired longer than the grace period ago', async () => {
    const fresh = await createTestTable('prune-grace');
    const now = clock.seconds;
    const justExpired = crypto.randomUUID();
    const longExpired = crypto.randomUUID();
    await seedItems(fresh, [
      { sessionId: justExpired, createdAt: now - 3600, expiresAt: now - 5 },
      { sessionId: longExpired, createdAt: now - 7200, expiresAt: now - 3600 },
    ]);
    const { store } = storeOn(fresh, { clock, pruneScanLimit: LIMIT });
    await store.start();
    expect(await readItem(fresh, longExpired)).toBeUndefined();
    expect(await readItem(fresh, justExpired)).toBeDefined();
  });

  it('PRUNE_SCAN_LIMIT = 0 turns pruning off: no Scan at all', async () => {
    const { store, requests } = storeOn(table, { clock, pruneScanLimit: 0 });
    await store.start();
    expect(requests.byCommand).toEqual({ PutItemCommand: 1 });
  });

  it('a start succeeds while prune fails, and the failure is logged', async () => {
    const raw = localClient({ maxAttempts: 1 });
    const injected = injectAwsError(raw, 'ScanCommand', () => new ProvisionedThroughputExceededException({ message: 'injected', $metadata: {} }));
    const { store, logger } = storeOn(table, { clock, raw, pruneScanLimit: LIMIT });
    const session = await store.start();
    expect(injected.attempts()).toBe(1);
    expect(await store.check(session.sessionId)).toMatchObject({ active: true });
    expect(logger.lines).toContainEqual({
      level: 'warn',
      message: 'expired-session sweep failed; sessions are unaffected',
      attributes: { error: 'ProvisionedThroughputExceededException' },
    });
  });

  it('concurrent starts in one container share the sweep: one Scan page at a time', async () => {
    const { store, requests } = storeOn(table, { clock, pruneScanLimit: LIMIT });
    requests.reset();
    await Promise.all(Array.from({ length: 5 }, () => store.start()));
    expect(requests.byCommand.PutItemCommand).toBe(5);
    expect(requests.byCommand.ScanCommand).toBe(1);
  });
});
