import { ProvisionedThroughputExceededException, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../scripts/local/manual-clock.js';
import { createDynamoClient, documentClient } from '../lib/dynamodb-client.js';
import { DynamoSessionStore } from '../lib/dynamo-session-store.js';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import type { HttpResponse } from '../lib/http/responses.js';
import { freePort, startDynamoDbLocal } from '../scripts/local/dynamodb-local.js';
import { ensureSessionTable } from '../scripts/local/ensure-table.js';
import { createTestTable, localClient, storeOn } from './support/dynamo.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { CapturingLogger, injectAwsError } from './support/fakes.js';

const dataDir = mkdtempSync(join(tmpdir(), 'mcp-sessions-outage-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const describeResponse = (r: HttpResponse) => `${r.statusCode} retry-after=${r.headers?.['retry-after'] ?? '-'} ${r.body ?? ''}`;

describe('DynamoDB outage', () => {
  it('answers 503 + Retry-After while DynamoDB Local is down, and every session is still active after it comes back', async () => {
    const port = await freePort();
    let dynamo = await startDynamoDbLocal({ port, dbPath: dataDir });
    const tableName = 'outage';
    await ensureSessionTable(createDynamoClient({ endpoint: dynamo.endpoint }), tableName, { ttl: false });
    // Production client settings (timeouts, retries), pointed at the on-disk DynamoDB Local.
    const store = new DynamoSessionStore({ client: documentClient(createDynamoClient({ endpoint: dynamo.endpoint })), tableName, clock: new ManualClock().now, logger: new CapturingLogger() });
    const logger = new CapturingLogger();
    const api = { start: createStartHandler(store, logger), check: createCheckHandler(store, logger), destroy: createDestroyHandler(store, logger) };

    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const response = await api.start(apiEvent('start'));
      expect(response.statusCode).toBe(201);
      ids.push((JSON.parse(response.body ?? '{}') as { sessionId: string }).sessionId);
    }

    await dynamo.stop('SIGKILL');
    console.log(`[outage] DynamoDB Local killed (SIGKILL); ${ids.length} sessions were stored`);
    const during = [
      ['POST /sessions', await api.start(apiEvent('start'))],
      ...(await Promise.all(ids.slice(0, 10).map(async (sessionId, i) => [`GET /sessions/{#${i}}`, await api.check(apiEvent('check', { sessionId }))] as const))),
      ['DELETE /sessions/{#0}', await api.destroy(apiEvent('destroy', { sessionId: ids[0] ?? '' }))],
    ] as const;
    for (const [request, response] of during) {
      console.log(`[outage] during: ${request} -> ${describeResponse(response)}`);
      expect(response.statusCode).toBe(503);
      expect(response.headers?.['retry-after']).toBe('1');
      expect(response.body).not.toContain('sessionId');
    }

    dynamo = await startDynamoDbLocal({ port, dbPath: dataDir });
    try {
      // A freshly restarted, on-disk DynamoDB Local can be slow to answer at first, and a check that
      // misses its deadline answers 503 (never 404), which callers retry: so is it here, once.
      const after: HttpResponse[] = [];
      for (const sessionId of ids) {
        let response = await api.check(apiEvent('check', { sessionId }));
        if (response.statusCode === 503) response = await api.check(apiEvent('check', { sessionId }));
        after.push(response);
      }
      expect(after.filter((r) => r.statusCode === 404)).toEqual([]);
      const active = after.filter((r) => r.statusCode === 200).length;
      console.log(`[outage] DynamoDB Local restarted on the same data: ${active}/${ids.length} sessions active`);
      expect(active).toBe(100);
    } finally {
      await dynamo.stop();
    }
  }, 120_000);

  it.each([
    ['ThrottlingException', () => new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })],
    ['ProvisionedThroughputExceededException', () => new ProvisionedThroughputExceededException({ message: 'exceeded', $metadata: {} })],
  ])('%s on every attempt: 503 + Retry-After after the SDK retries, within the invocation deadline', async (_, makeError) => {
    const table = await createTestTable('throttle');
    const raw = localClient({ maxAttempts: 3 });
    const fixture = storeOn(table, { raw, pruneScanLimit: 0 });
    const injected = injectAwsError(raw, 'GetItemCommand', makeError);
    const response = await createCheckHandler(fixture.store, fixture.logger)(apiEvent('check', { sessionId: crypto.randomUUID() }));
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['retry-after']).toBe('1');
    // The SDK backs off throttling with jittered delays of up to seconds; the invocation's 2 s
    // deadline ends the wait, so a third attempt happens only when the jitter leaves room for it.
    expect(injected.attempts()).toBeGreaterThanOrEqual(2);
    expect(injected.attempts()).toBeLessThanOrEqual(3);
  });
});
