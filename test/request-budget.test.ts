import { expect, it } from 'vitest';
import { measureRequestCounts } from '../bench/scenarios/request-counts.js';
import { createTestTable } from './support/dynamo.js';

/**
 * The benchmark's scenario 1, run here too so its request budgets are held as counts (no timings).
 * A fifth of the bench's size (2,000 checks of 20 sessions, the same checks per session), to keep
 * `npm test` short: the counts per check and per session do not depend on the scale.
 */
it('request budgets per operation, and 1.00 request per check over 2,000 checks of 20 sessions', async () => {
  const table = await createTestTable('budget');
  const { operations, steady } = await measureRequestCounts(table.raw, table.tableName, { checks: 2_000, sessions: 20 });
  const byOperation = Object.fromEntries(operations.map((o) => [o.operation, o.byCommand]));
  expect(byOperation).toEqual({
    start: { PutItemCommand: 1, ScanCommand: 1 },
    'check, fresh session': { GetItemCommand: 1 },
    'check in slide window, first': { GetItemCommand: 1, UpdateItemCommand: 1 },
    'check in slide window, second': { GetItemCommand: 1 },
    destroy: { DeleteItemCommand: 1 },
    'check, malformed id': {},
  });
  const [busyHalfHour, twoHours] = steady;
  expect(busyHalfHour).toMatchObject({ checks: 2_000, requests: 2_000, slides: 0 });
  expect(busyHalfHour?.requestsPerCheck.toFixed(2)).toBe('1.00');
  // Spread over two hours, each of the 20 sessions slides about once per half-TTL: 3 times.
  expect(twoHours?.slides).toBeLessThanOrEqual(20 * 4);
  expect(twoHours?.requestsPerCheck).toBeLessThan(1.05);
}, 180_000);
