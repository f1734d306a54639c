import { expect, it } from 'vitest';
import { measureGateRequestCounts } from '../bench/scenarios/gate-request-counts.js';
import { createTestTable } from './support/dynamo.js';

/** The benchmark's gate request counts, run here too so the budgets are held as counts (no timings). */
it('DynamoDB requests per MCP request through the gate: 1 per call (the check), 0 on a cache hit, 1 for concurrent checks of one session when coalesced', async () => {
  const table = await createTestTable('gate-counts');
  const rows = await measureGateRequestCounts(table.raw, table.tableName);
  expect(Object.fromEntries(rows.map((row) => [row.request, row.byCommand]))).toEqual({
    'initialize (a new session)': { PutItemCommand: 1, ScanCommand: 1 },
    'notifications/initialized': { GetItemCommand: 1 },
    'tools/call (echo)': { GetItemCommand: 1 },
    'tools/call × 8 at once, one session': { GetItemCommand: 8 },
    'tools/call, check cache (maxAgeMs 1000): first': { GetItemCommand: 1 },
    'tools/call, check cache: again within maxAgeMs': {},
    'tools/call, check cache: maxAgeMs later': { GetItemCommand: 1 },
    'tools/call × 8 at once, one session, coalesced (maxAgeMs 0)': { GetItemCommand: 1 },
    'DELETE (through the cache)': { DeleteItemCommand: 1 },
    'tools/call after that DELETE, check cache': { GetItemCommand: 1 },
  });
});
