import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_START_BODY_BYTES, MAX_STATE_BODY_BYTES } from '../lib/http/session-input.js';
import { MAX_APPEND_BODY_BYTES } from '../lib/http/stream-input.js';
import { streamIdSegment } from '../lib/routes.js';
import { BODY_LIMITS, type LocalApi } from '../scripts/local/api-server.js';
import { rawExchange } from './support/raw-http.js';
import { localApiOverRealHandlers } from './support/local-api.js';
import { floodChunked } from './support/flood.js';

const MiB = 1024 * 1024;

describe('bounded bodies in the local API', () => {
  let api: LocalApi;

  beforeAll(async () => {
    api = await localApiOverRealHandlers('local-bodies');
  });
  afterAll(() => api.close());

  it('POST /sessions streamed 300 MiB chunked (no Content-Length) gets 413 payload_too_large with bounded memory, long before it is all sent', async () => {
    const flood = await floodChunked(`${api.url}/sessions`, 300 * MiB);
    // The old reader destroyed the request at its 10 MB cap: the connection was reset, no answer.
    expect(flood.status).toBe(413);
    expect(JSON.parse(flood.body)).toEqual({ error: 'payload_too_large', message: `The request body must be at most ${MAX_START_BODY_BYTES} bytes.` });
    // At most the 16 KiB limit plus one socket read is held; the rest waits in kernel buffers until the close.
    expect(flood.peakRssGrowthBytes).toBeLessThan(32 * MiB);
    expect(flood.bytesSent).toBeLessThan(64 * MiB);
  }, 120_000);

  it('POST /sessions with a Content-Length over the limit gets 413 before a byte of the body is read, then the connection closes', async () => {
    // A 1 GiB promise and no body at all: only an answer given before reading can arrive.
    const response = await rawExchange(api.url, `POST /sessions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${1024 * MiB}\r\n\r\n`).response();
    expect(response.status).toBe(413);
    expect(response.headers.connection).toBe('close');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(response.body)).toMatchObject({ error: 'payload_too_large' });
  });

  it('Expect: 100-continue with a Content-Length over the limit gets 413 and no 100 Continue; under the limit, 100 Continue and then the answer', async () => {
    const refused = await rawExchange(api.url, `POST /sessions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: ${1024 * MiB}\r\n\r\n`).response();
    expect(refused.status).toBe(413);
    expect(refused.text).not.toMatch(/100 Continue/);

    const body = JSON.stringify({ metadata: { client: 'raw' } });
    const exchange = rawExchange(api.url, `POST /sessions HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`);
    await exchange.received(/^HTTP\/1\.1 100 Continue\r\n/);
    exchange.write(body);
    const accepted = await exchange.response();
    expect(accepted.status).toBe(201);
  });

  it("the routes with a body stop at their handler's own limit, not API Gateway's 10 MB; the others keep 10 MB", async () => {
    expect(BODY_LIMITS).toEqual({
      start: MAX_START_BODY_BYTES,
      check: 10 * MiB,
      destroy: 10 * MiB,
      updateState: MAX_STATE_BODY_BYTES,
      appendMessage: MAX_APPEND_BODY_BYTES,
      readMessages: 10 * MiB,
      lastSeq: 10 * MiB,
      removeStream: 10 * MiB,
    });
    const over = await fetch(`${api.url}/sessions`, { method: 'POST', body: ' '.repeat(MAX_START_BODY_BYTES + 1) });
    expect(over.status).toBe(413);
    expect(over.headers.get('cache-control')).toBe('no-store');
    const atLimit = await fetch(`${api.url}/sessions`, { method: 'POST', body: `{}${' '.repeat(MAX_START_BODY_BYTES - 2)}` });
    expect(atLimit.status).toBe(201);
  });

  it('an append over its limit is refused before the body is read (the same 413 as the handler\'s); one at the limit reaches the handler', async () => {
    const path = `/sessions/${crypto.randomUUID()}/streams/${streamIdSegment('s')}/messages`;
    const refused = await rawExchange(api.url, `POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${MAX_APPEND_BODY_BYTES + 1}\r\n\r\n`).response();
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body)).toEqual({ error: 'payload_too_large', message: `The request body must be at most ${MAX_APPEND_BODY_BYTES} bytes.` });
    const padded = `{"message":1}${' '.repeat(MAX_APPEND_BODY_BYTES - 13)}`;
    expect((await fetch(`${api.url}${path}`, { method: 'POST', body: padded })).status).toBe(201);
    const state = await fetch(`${api.url}/sessions/${crypto.randomUUID()}/state`, { method: 'PATCH', body: ' '.repeat(MAX_STATE_BODY_BYTES + 1) });
    expect(state.status).toBe(413);
  });
});
