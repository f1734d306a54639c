import { ProvisionedThroughputExceededException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET, deadlineSignal } from '../lib/deadline-budget.js';
import { createDynamoClient, documentClient } from '../lib/dynamodb-client.js';
import { ExpiredSessionSweeper, SWEEP_DELETES_IN_FLIGHT } from '../lib/expired-session-sweeper.js';
import { scanAll } from '../scripts/local/scan-all.js';
import { countRequests } from '../scripts/local/request-counter.js';
import { createTestTable, localClient, readItem, seedItems, storeOn, type TestTable } from './support/dynamo.js';
import { CapturingLogger, ManualClock, afterCommand, hangingEndpoint, injectAwsError } from './support/fakes.js';

const LIMIT = 100;
const GRACE_SECONDS = 60;
const TTL_SECONDS = 3600;

// Every test builds its own table and clock: none depends on what another left behind, so the file
// passes in any order (`--sequence.shuffle`) and each test passes alone (`-t`).

/**
 * The table, with a client for seeding and inspecting it that waits as long as a loaded machine
 * needs: fixtures are not under test. The store and sweeper under test get their own clients with
 * the service's real timeouts (storeOn, sweeperOn).
 */
async function freshTable(prefix: string): Promise<TestTable> {
  const { tableName } = await createTestTable(prefix);
  const raw = localClient({ connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000 });
  return { tableName, raw, client: documentClient(raw) };
}

interface SeededTable {
  table: TestTable;
  expired: string[];
  live: string[];
}

/** A fresh table of `size` sessions: every tenth expired an hour ago, the others live for half an hour. */
async function tableOfSessions(prefix: string, size: number, now: number, expiredEvery = 10): Promise<SeededTable> {
  const table = await freshTable(prefix);
  const expired: string[] = [];
  const live: string[] = [];
  const items = Array.from({ length: size }, (_, i) => {
    const sessionId = crypto.randomUUID();
    const isExpired = i % expiredEvery === 0;
    (isExpired ? expired : live).push(sessionId);
    return { sessionId, createdAt: now - 7200, expiresAt: isExpired ? now - 3600 : now + 1800 };
  });
  await seedItems(table, items);
  return { table, expired, live };
}

async function allIds(table: TestTable): Promise<Set<string>> {
  const { items } = await scanAll(table.client, { TableName: table.tableName, ConsistentRead: true });
  return new Set(items.map((item) => String(item.sessionId)));
}

/** A sweeper on its own client (so its requests can be counted and hooked), as the store builds it. */
function sweeperOn(table: TestTable, raw: DynamoDBClient = localClient()) {
  const logger = new CapturingLogger();
  const requests = countRequests(raw);
  const sweeper = new ExpiredSessionSweeper({ client: documentClient(raw), tableName: table.tableName, scanLimit: LIMIT, logger, graceSeconds: GRACE_SECONDS });
  return { sweeper, logger, requests, raw };
}

/** Counts how many of the named command are in flight at once on a client (the peak). */
function peakInFlight(raw: DynamoDBClient, commandName: string): () => number {
  let inFlight = 0;
  let peak = 0;
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      peak = Math.max(peak, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: `peak-in-flight-${commandName}`, override: true },
  );
  return () => peak;
}

/** Sends the named command to another endpoint (a hung one) while the rest still reach DynamoDB Local. */
function routeCommandTo(raw: DynamoDBClient, commandName: string, url: string): void {
  const target = new URL(url);
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { hostname?: string; port?: number };
      if (context.commandName === commandName) {
        request.hostname = target.hostname;
        request.port = Number(target.port);
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: `route-${commandName}`, override: true },
  );
}

// Shuffled on every run: each test builds its own table and clock, and must not depend on order.
describe.shuffle('prune inside start (tests in random order: none depends on another)', () => {
  it('scans at most PRUNE_SCAN_LIMIT items per start, and repeated starts remove every expired item', async () => {
    const clock = new ManualClock();
    const { table, expired, live } = await tableOfSessions('prune', 1000, clock.seconds);
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
      // One conditional DeleteItem per expired key the page found, never a batch.
      expect(requests.byCommand.DeleteItemCommand ?? 0).toBe(store.lastSweep?.deleted);
      expect(requests.byCommand.BatchWriteItemCommand).toBeUndefined();
      if (store.lastSweep?.lapCompleted) break;
    }
    // One lap over 1,000+ items at 100 per start takes about 11 starts.
    expect(starts).toBeLessThanOrEqual(12);
    const remaining = await allIds(table);
    for (const id of expired) expect(remaining.has(id)).toBe(false);
    for (const id of [...live, ...started]) expect(remaining.has(id)).toBe(true);
  });

  it('deletes only what expired longer than the grace period ago', async () => {
    const clock = new ManualClock();
    const table = await freshTable('prune-grace');
    const now = clock.seconds;
    const justExpired = crypto.randomUUID();
    const longExpired = crypto.randomUUID();
    await seedItems(table, [
      { sessionId: justExpired, createdAt: now - 3600, expiresAt: now - 5 },
      { sessionId: longExpired, createdAt: now - 7200, expiresAt: now - 3600 },
    ]);
    const { store } = storeOn(table, { clock, pruneScanLimit: LIMIT });
    await store.start();
    expect(await readItem(table, longExpired)).toBeUndefined();
    expect(await readItem(table, justExpired)).toBeDefined();
  });

  it('PRUNE_SCAN_LIMIT = 0 turns pruning off: no Scan at all', async () => {
    const clock = new ManualClock();
    const { table, expired } = await tableOfSessions('prune-off', 20, clock.seconds);
    const { store, requests } = storeOn(table, { clock, pruneScanLimit: 0 });
    await store.start();
    expect(requests.byCommand).toEqual({ PutItemCommand: 1 });
    for (const id of expired) expect(await readItem(table, id)).toBeDefined();
  });

  it('a start succeeds while prune fails, and the failure is logged', async () => {
    const clock = new ManualClock();
    const { table } = await tableOfSessions('prune-fails', 20, clock.seconds);
    const raw = localClient({ maxAttempts: 1 });
    const injected = injectAwsError(raw, 'ScanCommand', () => new ProvisionedThroughputExceededException({ message: 'injected', $metadata: {} }));
    const { store, logger } = storeOn(table, { clock, raw, pruneScanLimit: LIMIT });
    const session = await store.start();
    expect(injected.attempts()).toBe(1);
    expect(await store.check(session.sessionId)).toMatchObject({ active: true });
    expect(logger.lines).toContainEqual({
      level: 'warn',
      message: 'expired-session sweep failed; sessions are unaffected',
      attributes: { error: 'ProvisionedThroughputExceededException', deleted: 0, leftOver: 0 },
    });
  });

  it('a failing DeleteItem stops the page without failing the start, and is logged', async () => {
    const clock = new ManualClock();
    const { table, expired } = await tableOfSessions('prune-delete-fails', 200, clock.seconds);
    const raw = localClient({ maxAttempts: 1 });
    injectAwsError(raw, 'DeleteItemCommand', () => new ProvisionedThroughputExceededException({ message: 'injected', $metadata: {} }));
    const { store, logger, requests } = storeOn(table, { clock, raw, pruneScanLimit: LIMIT });
    const session = await store.start();
    expect(session.sessionId).toBeTruthy();
    // The workers stop at the first failure: no more than one round of deletes goes out.
    expect(requests.byCommand.DeleteItemCommand).toBeLessThanOrEqual(SWEEP_DELETES_IN_FLIGHT);
    expect(store.lastSweep).toMatchObject({ deleted: 0, skipped: 0 });
    expect(logger.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'expired-session sweep failed; sessions are unaffected', attributes: expect.objectContaining({ error: 'ProvisionedThroughputExceededException' }) }),
    );
    for (const id of expired) expect(await readItem(table, id)).toBeDefined();
  });

  it('concurrent starts in one container share the sweep: one Scan page at a time', async () => {
    const clock = new ManualClock();
    const { table } = await tableOfSessions('prune-concurrent', 300, clock.seconds);
    const { store, requests } = storeOn(table, { clock, pruneScanLimit: LIMIT });
    await Promise.all(Array.from({ length: 5 }, () => store.start()));
    expect(requests.byCommand.PutItemCommand).toBe(5);
    expect(requests.byCommand.ScanCommand).toBe(1);
  });
});

describe.shuffle('prune without the clock-skew hazard', () => {
  it('a session slid between the Scan and its delete survives, whatever the sweeper clock says (conditional DeleteItem)', async () => {
    const trueClock = new ManualClock();
    const now = trueClock.seconds;
    const table = await freshTable('prune-slid');
    const sessionId = crypto.randomUUID();
    // Live by the true clock for 10 more seconds, in the second half of its TTL: the next check slides it.
    await seedItems(table, [{ sessionId, createdAt: now - (TTL_SECONDS - 10), expiresAt: now + 10 }]);
    const otherContainer = storeOn(table, { clock: trueClock, ttlSeconds: TTL_SECONDS, pruneScanLimit: 0 }).store;

    // This container's clock runs 90 s ahead, more than the grace: to it the session expired 80 s ago.
    const { sweeper, raw, requests, logger } = sweeperOn(table);
    let slide: Awaited<ReturnType<typeof otherContainer.check>> | undefined;
    afterCommand(raw, 'ScanCommand', async () => {
      slide = await otherContainer.check(sessionId);
    });
    const sweep = await sweeper.sweepPage(now + 90);

    expect(slide).toEqual({ active: true, expiresAt: now + TTL_SECONDS });
    expect(await readItem(table, sessionId)).toMatchObject({ expiresAt: now + TTL_SECONDS });
    expect(await otherContainer.check(sessionId)).toMatchObject({ active: true });
    expect(requests.byCommand).toEqual({ ScanCommand: 1, DeleteItemCommand: 1 });
    expect(sweep).toMatchObject({ deleted: 0, skipped: 1, leftOver: 0 });
    expect(logger.lines).toEqual([]);
  });

  it('an expired session destroyed between the Scan and its delete is skipped, not an error', async () => {
    const clock = new ManualClock();
    const now = clock.seconds;
    const { table, expired } = await tableOfSessions('prune-gone', 10, now, 1);
    const { sweeper, raw, logger } = sweeperOn(table);
    afterCommand(raw, 'ScanCommand', async () => {
      for (const id of expired.slice(0, 3)) await table.client.send(new DeleteCommand({ TableName: table.tableName, Key: { sessionId: id } }));
    });
    const sweep = await sweeper.sweepPage(now);
    expect(sweep).toMatchObject({ scanned: 10, deleted: 7, skipped: 3, leftOver: 0, lapCompleted: true });
    expect(await allIds(table)).toEqual(new Set());
    expect(logger.lines).toEqual([]);
  });

  it('a sweeper whose clock runs ahead by less than the grace does not delete a session still live by the true clock', async () => {
    const trueClock = new ManualClock();
    const now = trueClock.seconds;
    const table = await freshTable('prune-skew');
    const sessionId = crypto.randomUUID();
    await seedItems(table, [{ sessionId, createdAt: now - 3000, expiresAt: now + 30 }]);
    const { sweeper, requests } = sweeperOn(table);
    // 45 s ahead (< 60 s grace): by its own clock the session expired 15 s ago.
    const sweep = await sweeper.sweepPage(now + 45);
    expect(sweep).toMatchObject({ scanned: 1, deleted: 0 });
    expect(requests.byCommand.DeleteItemCommand).toBeUndefined();
    expect(await readItem(table, sessionId)).toBeDefined();
    const { store } = storeOn(table, { clock: trueClock, pruneScanLimit: 0 });
    expect(await store.check(sessionId)).toMatchObject({ active: true });
  });

  it('one conditional DeleteItem per expired key of the page, a bounded number in flight', async () => {
    const clock = new ManualClock();
    const now = clock.seconds;
    const { table, expired } = await tableOfSessions('prune-bounded', 60, now, 2);
    const { sweeper, raw, requests } = sweeperOn(table);
    const peak = peakInFlight(raw, 'DeleteItemCommand');
    const sweep = await sweeper.sweepPage(now);
    expect(sweep).toMatchObject({ scanned: 60, deleted: expired.length, skipped: 0, leftOver: 0 });
    expect(requests.byCommand).toEqual({ ScanCommand: 1, DeleteItemCommand: expired.length });
    expect(peak()).toBeGreaterThan(1);
    expect(peak()).toBeLessThanOrEqual(SWEEP_DELETES_IN_FLIGHT);
  });
});

describe.shuffle('the sweep deadline', () => {
  it('a sweep whose signal aborts mid-page stops (no new deletes), does not throw, and says so', async () => {
    const clock = new ManualClock();
    const now = clock.seconds;
    const { table, expired } = await tableOfSessions('prune-abort', 40, now, 1);
    const { sweeper, raw, requests, logger } = sweeperOn(table);
    const deadline = new AbortController();
    // The deadline passes as the first delete comes back.
    afterCommand(raw, 'DeleteItemCommand', async () => deadline.abort());
    const sweep = await sweeper.sweepPage(now, deadline.signal);

    expect(requests.byCommand.DeleteItemCommand).toBeLessThanOrEqual(SWEEP_DELETES_IN_FLIGHT);
    expect(sweep.deleted).toBeGreaterThanOrEqual(1);
    expect(sweep.leftOver).toBe(expired.length - sweep.deleted - sweep.skipped);
    expect(sweep.leftOver).toBeGreaterThanOrEqual(expired.length - SWEEP_DELETES_IN_FLIGHT);
    const left = (await allIds(table)).size;
    expect(left).toBeGreaterThanOrEqual(expired.length - SWEEP_DELETES_IN_FLIGHT);
    expect(left).toBeLessThanOrEqual(expired.length - sweep.deleted);
    expect(logger.lines).toEqual([
      { level: 'warn', message: 'expired-session sweep stopped at its deadline; sessions are unaffected', attributes: { deleted: sweep.deleted, leftOver: sweep.leftOver } },
    ]);
  });

  it('a sweep whose signal aborts right after the Scan sends no DeleteItem', async () => {
    const clock = new ManualClock();
    const now = clock.seconds;
    const { table, expired } = await tableOfSessions('prune-abort-scan', 20, now, 1);
    const { sweeper, raw, requests, logger } = sweeperOn(table);
    const deadline = new AbortController();
    afterCommand(raw, 'ScanCommand', async () => deadline.abort());
    const sweep = await sweeper.sweepPage(now, deadline.signal);
    expect(requests.byCommand).toEqual({ ScanCommand: 1 });
    expect(sweep).toMatchObject({ scanned: 20, deleted: 0, skipped: 0, leftOver: expired.length });
    expect((await allIds(table)).size).toBe(expired.length);
    expect(logger.lines.map((line) => line.message)).toEqual(['expired-session sweep stopped at its deadline; sessions are unaffected']);
  });

  it('a sweep whose DeleteItems hang ends within its deadline and does not throw', async () => {
    const hung = await hangingEndpoint();
    try {
      const clock = new ManualClock();
      const { table, expired } = await tableOfSessions('prune-hung-delete', 20, clock.seconds, 1);
      const { sweeper, raw, logger } = sweeperOn(table);
      routeCommandTo(raw, 'DeleteItemCommand', hung.url);
      const deadlineMs = DEADLINE_BUDGET.sweepDeadlineMs;
      const sweep = await Promise.race([
        sweeper.sweepPage(clock.seconds, deadlineSignal(deadlineMs)),
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), deadlineMs + 500)),
      ]);
      expect(sweep).toEqual({ scanned: 20, deleted: 0, skipped: 0, leftOver: expired.length, lapCompleted: true });
      expect(hung.connections()).toBeGreaterThanOrEqual(1);
      expect(logger.lines.map((line) => line.message)).toEqual(['expired-session sweep stopped at its deadline; sessions are unaffected']);
    } finally {
      await hung.close();
    }
  });

  it('a sweep against a DynamoDB that never answers ends within its deadline and does not throw', async () => {
    const hung = await hangingEndpoint();
    try {
      const logger = new CapturingLogger();
      const sweeper = new ExpiredSessionSweeper({ client: documentClient(createDynamoClient({ endpoint: hung.url })), tableName: 'any', scanLimit: LIMIT, logger });
      const deadlineMs = DEADLINE_BUDGET.sweepDeadlineMs;
      const sweep = await Promise.race([
        sweeper.sweepPage(new ManualClock().seconds, deadlineSignal(deadlineMs)),
        new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), deadlineMs + 500)),
      ]);
      expect(sweep).toEqual({ scanned: 0, deleted: 0, skipped: 0, leftOver: 0, lapCompleted: false });
      expect(hung.connections()).toBeGreaterThanOrEqual(1);
      expect(logger.lines.map((line) => line.message)).toEqual(['expired-session sweep stopped at its deadline; sessions are unaffected']);
    } finally {
      await hung.close();
    }
  });
});
