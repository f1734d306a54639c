import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import type { HttpHandler } from '../lib/http/handler.js';
import type { HttpResponse } from '../lib/http/responses.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { createTestTable, localClient, storeOn, type TestTable } from './support/dynamo.js';
import { halfAnsweringEndpoint, hangingEndpoint, type FaultyEndpoint } from './support/fakes.js';

/**
 * "Every wait has a deadline": DynamoDB endpoints that accept and never answer, or answer half and
 * stall, must end in 503 store_unavailable + Retry-After from every handler, before the handler's
 * deadline has long passed. These are deadline tests, not benchmarks: the only time asserted is the
 * documented budget, with room for a loaded machine.
 */
const WITHIN_MS = DEADLINE_BUDGET.handlerDeadlineMs + 1500;

/** Resolves with the response, or 'no answer' once `ms` have passed. */
async function answerWithin<T>(work: Promise<T>, ms: number): Promise<T | 'no answer'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function expectStoreUnavailable(response: HttpResponse | 'no answer'): void {
  expect(response).not.toBe('no answer');
  if (response === 'no answer') return;
  expect(response.statusCode).toBe(503);
  expect(JSON.parse(response.body ?? '{}')).toMatchObject({ error: 'store_unavailable' });
  expect(response.headers?.['retry-after']).toMatch(/^\d+$/);
}

let table: TestTable;
beforeAll(async () => {
  table = await createTestTable('deadlines');
});

describe.each([
  ['accepts and never answers', hangingEndpoint],
  ['answers half a response, then stalls', halfAnsweringEndpoint],
])('a DynamoDB endpoint that %s', (_, makeEndpoint) => {
  let endpoint: FaultyEndpoint;
  let handlers: Record<'start' | 'check' | 'destroy', HttpHandler>;

  beforeAll(async () => {
    endpoint = await makeEndpoint();
    // The client exactly as the functions build it (lib/dynamodb-client.ts defaults), pointed at the broken peer.
    const fixture = storeOn(table, { raw: localClient({ endpoint: endpoint.url }) });
    handlers = {
      start: createStartHandler(fixture.store, fixture.logger),
      check: createCheckHandler(fixture.store, fixture.logger),
      destroy: createDestroyHandler(fixture.store, fixture.logger),
    };
  });
  afterAll(() => endpoint.close());

  it.each(['start', 'check', 'destroy'] as const)('%s answers 503 store_unavailable + Retry-After within the invocation deadline', async (route) => {
    const before = endpoint.connections();
    const event = route === 'start' ? apiEvent('start') : apiEvent(route, { sessionId: crypto.randomUUID() });
    expectStoreUnavailable(await answerWithin(handlers[route](event), WITHIN_MS));
    expect(endpoint.connections()).toBeGreaterThan(before); // it really waited on the broken peer
  });

  it('a Lambda context with little time left shortens the deadline to fit', async () => {
    const context = { getRemainingTimeInMillis: () => 900 };
    expectStoreUnavailable(await answerWithin(handlers.check(apiEvent('check', { sessionId: crypto.randomUUID() }), context), 900 + 1000));
  });
});
