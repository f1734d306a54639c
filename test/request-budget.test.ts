import { expect, it } from 'vitest';
import { measureRequestCounts } from '../bench/scenarios/request-counts.js';
import { createTestTable } from './support/dynamo.js';

/** The benchmark's scenario 1, run here too so its request budgets are held as counts (no timings). */
it('request budgets per operation, and 1.00 request per check over 10,000 checks of 100 sessions', async () => {
  const table = await createTestTable('budget');
  const { operations, steady } = await measureRequestCounts(table.raw, table.tableName, { checks: 10_000, sessions: 100 });
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
  expect(busyHalfHour).toMatchObject({ checks: 10_000, requests: 10_000, slides: 0 });
  expect(busyHalfHour?.requestsPerCheck.toFixed(2)).toBe('1.00');
  // Spread over two hours, each of the 100 sessions slides about once per half-TTL: 3 times.
  expect(twoHours?.slides).toBeLessThanOrEqual(100 * 4);
  expect(twoHours?.requestsPerCheck).toBeLessThan(1.05);
}, 180_000);
