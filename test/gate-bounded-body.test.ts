import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toNodeListener } from '../lib/mcp/node-adapter.js';
import { sessionGate } from '../lib/mcp/session-gate.js';
import { createTestTable, storeOn, type StoreFixture } from './support/dynamo.js';
import { floodChunked } from './support/flood.js';

const MiB = 1024 * 1024;

describe('bounded bodies at the gate', () => {
  let fixture: StoreFixture;
  let server: Server;
  let url: string;
  let handlerCalls = 0;

  beforeAll(async () => {
    fixture = storeOn(await createTestTable('gate-body'));
    const gate = sessionGate({ store: fixture.store }, async () => {
      handlerCalls++;
      return Response.json({ jsonrpc: '2.0', id: 1, result: {} });
    });
    server = createServer(toNodeListener(gate));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a 300 MiB chunked POST (no Content-Length) gets 413 with bounded memory growth, long before it is all sent', async () => {
    fixture.requests.reset();
    const flood = await floodChunked(url, 300 * MiB, { accept: 'application/json, text/event-stream' });
    expect(flood.status).toBe(413);
    expect(JSON.parse(flood.body)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: 'Payload Too Large: Request body must not exceed 4194304 bytes' } });
    // The gate keeps at most its 4 MiB cap of the body; the old clone().text() kept all of it, several times over.
    expect(flood.peakRssGrowthBytes).toBeLessThan(32 * MiB);
    expect(flood.bytesSent).toBeLessThan(100 * MiB);
    expect(handlerCalls).toBe(0);
    expect(fixture.requests.total).toBe(0);
  }, 120_000);

  it('a declared Content-Length over the cap gets 413 without the body being read', async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ' '.repeat(4 * MiB + 1) });
    expect(response.status).toBe(413);
    expect(handlerCalls).toBe(0);
  });

  it('a body just under the cap is read, parsed once and handed on', async () => {
    const padded = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })}${' '.repeat(4 * MiB - 100)}`;
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: padded });
    // Past the body cap, on to the session rules: no session id, so 400.
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: -32000, message: expect.stringMatching(/Mcp-Session-Id/) } });
  });
});
