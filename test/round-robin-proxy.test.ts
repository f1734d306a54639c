/**
 * The conformance harness's load balancer (test/support/round-robin-proxy.ts): no stickiness,
 * bodies streamed both ways, the client's Host passed on, a default principal header, an
 * upstream request ended when its client goes away, and an observer that sees (and may cut) each exchange.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conditions } from './support/conditions.js';
import { startRoundRobinProxy, type ForwardedExchange, type ProxyObserver, type RoundRobinProxy } from './support/round-robin-proxy.js';

interface Seen {
  host: string | undefined;
  user: string | undefined;
  body: string;
}

/** An upstream that says who it is and what it saw; `/sse` answers with an event stream it never ends itself. */
class Upstream {
  readonly seen: Seen[] = [];
  /** Settles when the client side of an open `/sse` answer goes away. */
  streamClosed: Promise<void> = Promise.resolve();
  readonly server: Server;

  constructor(readonly name: string) {
    this.server = createServer((request, response) => void this.handle(request, response));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    this.seen.push({ host: request.headers.host, user: request.headers['x-demo-user'] as string | undefined, body });
    if (request.url === '/sse') {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: first from ${this.name}\n\n`);
      this.streamClosed = new Promise((resolve) => response.once('close', () => resolve()));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain' }).end(`${this.name}:${body}`);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

/** A raw request, to send a Host header of our choosing (fetch sets its own). */
function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: options.method ?? 'POST', headers: options.headers ?? {} }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.end(options.body);
  });
}

describe('the round-robin proxy of the conformance harness', () => {
  const a = new Upstream('A');
  const b = new Upstream('B');
  let proxy: RoundRobinProxy;

  beforeAll(async () => {
    proxy = await startRoundRobinProxy({ targets: [await a.listen(), await b.listen()], defaultHeaders: { 'x-demo-user': 'conformance' } });
  });
  afterAll(async () => {
    await proxy.close();
    a.server.close();
    b.server.close();
  });

  it('sends every request to the next target in turn, bodies intact, whatever the client or path', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await send(`${proxy.url}/mcp?n=${i}`, { body: `body-${i}` })).text);
    expect(answers).toEqual(['A:body-0', 'B:body-1', 'A:body-2', 'B:body-3']);
    expect(proxy.forwarded).toEqual([2, 2]);
  });

  it('passes the client\'s Host on, and adds x-demo-user only when the request has none', async () => {
    a.seen.length = 0;
    b.seen.length = 0;
    await send(`${proxy.url}/mcp`, { headers: { host: 'evil.example.com' } });
    await send(`${proxy.url}/mcp`, { headers: { 'x-demo-user': 'alice' } });
    expect(a.seen[0]).toMatchObject({ host: 'evil.example.com', user: 'conformance' });
    expect(b.seen[0]).toMatchObject({ host: new URL(proxy.url).host, user: 'alice' });
  });

  it('streams an SSE answer as it comes, and ends the upstream request when the client goes away', async () => {
    const controller = new AbortController();
    // The next request goes to A (two went to each so far).
    const response = await fetch(`${proxy.url}/sse`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    // The first event arrives while the upstream answer is still open: nothing is buffered to the end.
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: first from A\n\n');
    controller.abort();
    // Settles only if the proxy ended its upstream request: A's answer is never ended by A.
    await a.streamClosed;
  });

  it('answers 502 when a target is down, and the next request still goes to the next target', async () => {
    const down = await startRoundRobinProxy({ targets: ['http://127.0.0.1:1', `http://127.0.0.1:${(b.server.address() as AddressInfo).port}`] });
    try {
      expect((await send(`${down.url}/mcp`)).status).toBe(502);
      expect((await send(`${down.url}/mcp`, { body: 'x' })).text).toBe('B:x');
    } finally {
      await down.close();
    }
  });

  describe('with an observer', () => {
    /** What the observer was told, one line per call. */
    function recording(onChunk?: (exchange: ForwardedExchange) => void): { observer: ProxyObserver; told: string[]; conditions: Conditions } {
      const told: string[] = [];
      const conditions = new Conditions();
      const tell = (line: string) => {
        told.push(line);
        conditions.changed();
      };
      const observer: ProxyObserver = {
        request: (x) => tell(`request #${x.n} ${x.method} ${x.path} -> ${x.target} user=${String(x.headers['x-demo-user'])}`),
        requestData: (x, chunk) => tell(`request data #${x.n} ${chunk.toString()}`),
        response: (x, status) => tell(`response #${x.n} ${status}`),
        responseData: (x, chunk) => {
          tell(`response data #${x.n} ${chunk.toString()}`);
          onChunk?.(x);
        },
        closed: (x, complete) => tell(`closed #${x.n} ${complete ? 'complete' : 'cut'}`),
      };
      return { observer, told, conditions };
    }

    const origins = () => [a, b].map((upstream) => `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`);

    it('is told of each exchange in order: where it went, its body, the answer, how it ended; forwarding is unchanged', async () => {
      const { observer, told, conditions } = recording();
      const watched = await startRoundRobinProxy({ targets: origins(), defaultHeaders: { 'x-demo-user': 'conformance' }, observer });
      try {
        expect((await send(`${watched.url}/mcp?x=1`, { body: 'one' })).text).toBe('A:one');
        expect((await send(`${watched.url}/mcp`, { body: 'two', headers: { 'x-demo-user': 'alice' } })).text).toBe('B:two');
        // The client may have the whole answer before the proxy's side of it is closed.
        await conditions.until('both exchanges closed', () => told.filter((line) => line.startsWith('closed')).length === 2);
        expect(told).toEqual([
          'request #0 POST /mcp?x=1 -> 0 user=conformance',
          'request data #0 one',
          'response #0 200',
          'response data #0 A:one',
          'closed #0 complete',
          'request #1 POST /mcp -> 1 user=alice',
          'request data #1 two',
          'response #1 200',
          'response data #1 B:two',
          'closed #1 complete',
        ]);
        expect(watched.forwarded).toEqual([1, 1]);
      } finally {
        await watched.close();
      }
    });

    it('can cut an exchange mid-answer: the client sees its stream break, the upstream request ends', async () => {
      const { observer, told, conditions } = recording((exchange) => exchange.cut());
      const watched = await startRoundRobinProxy({ targets: origins(), observer });
      try {
        const response = await fetch(`${watched.url}/sse`);
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        // Cut after the first chunk was handed on: it may arrive, then the stream fails (never a clean end).
        const reads: string[] = [];
        const failure = await (async () => {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) return 'ended cleanly';
            reads.push(new TextDecoder().decode(value));
          }
        })().catch((error: unknown) => error);
        expect(failure).toBeInstanceOf(TypeError);
        expect(reads.join('')).toMatch(/^(data: first from A\n\n)?$/);
        await a.streamClosed;
        await conditions.until('the exchange closed', () => told.some((line) => line.startsWith('closed')));
        expect(told).toEqual(['request #0 GET /sse -> 0 user=undefined', 'response #0 200', 'response data #0 data: first from A\n\n', 'closed #0 cut']);
      } finally {
        await watched.close();
      }
    });
  });
});
