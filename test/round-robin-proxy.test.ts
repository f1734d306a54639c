/**
 * The conformance harness's load balancer (test/support/round-robin-proxy.ts): no stickiness,
 * bodies streamed both ways, the client's Host passed on, a default principal header, and an
 * upstream request ended when its client goes away.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy.js';

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
});
