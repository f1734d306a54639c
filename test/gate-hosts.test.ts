/** DNS-rebinding protection in the session gate: Host and Origin against an allow-list, before anything else. */
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleMcpHandler } from '../examples/mcp-server/app.js';
import { createCheckHandler } from '../lib/handlers/check.js';
import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createStartHandler } from '../lib/handlers/start.js';
import { sessionGate, toNodeListener, type SessionGateOptions } from '../lib/mcp/index.js';
import type { SessionStore } from '../lib/session-store.js';
import { startLocalApi, type LocalApi } from '../scripts/local/api-server.js';
import { SOURCE_CONDITION_FLAG, TSX, launchTs, type Launched } from '../scripts/local/launch-ts.js';
import { CapturingLogger, DEAD_ENDPOINT } from './support/fakes.js';
import { createStreamsTestTable, createTestTable, storeOn, streamsOn, type StoreFixture, type StreamsFixture } from './support/dynamo.js';

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', clientInfo: { name: 'c', version: '1' }, capabilities: {} } });
const toolsList = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
const initializeResult = () => Response.json({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-11-25', capabilities: {}, serverInfo: { name: 's', version: '1' } } });

let fixture: StoreFixture;
let streams: StreamsFixture;
beforeAll(async () => {
  fixture = storeOn(await createTestTable('gate-hosts'));
  streams = streamsOn(await createStreamsTestTable('gate-hosts'));
});

/** The real store, with every call counted: a refused request must make none. */
function countingStore(store: SessionStore): { store: SessionStore; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    store: {
      start: (options) => (calls++, store.start(options)),
      check: (sessionId, options) => (calls++, store.check(sessionId, options)),
      destroy: (sessionId, options) => (calls++, store.destroy(sessionId, options)),
      updateState: (sessionId, change, options) => (calls++, store.updateState(sessionId, change, options)),
    },
  };
}

/** A gate over the counted store whose handler answers initialize and counts its calls. */
function hostGate(options: Partial<SessionGateOptions> = {}) {
  const counted = countingStore(fixture.store);
  const logger = new CapturingLogger();
  let handled = 0;
  const gate = sessionGate({ store: counted.store, logger, ...options }, async () => (handled++, initializeResult()));
  return { gate, logger, storeCalls: counted.calls, handled: () => handled };
}

/** An initialize to `url`, with extra headers (Host and Origin included: a Request may carry them). */
const initializeAt = (url: string, headers: Record<string, string> = {}) =>
  new Request(url, { method: 'POST', body: initialize, headers: { 'content-type': 'application/json', ...headers } });

const expectRefused = async (response: Response, message: string) => {
  expect(response.status).toBe(403);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await response.json()).toEqual({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
};

/** A gate answering initialize with a session id means the request got past the host check. */
const expectAllowed = (response: Response) => {
  expect(response.status).toBe(200);
  expect(response.headers.get('mcp-session-id')).toMatch(/^[0-9a-f-]{36}$/);
};

describe('Host header', () => {
  it('a rebinding Host gets 403 with the SDK\'s JSON-RPC -32000 "Invalid Host header", on every method', async () => {
    const { gate, handled } = hostGate();
    const url = 'http://localhost:3001/mcp';
    const session = { 'mcp-session-id': crypto.randomUUID() };
    for (const request of [
      initializeAt(url, { host: 'evil.example:3001' }),
      new Request(url, { method: 'POST', body: toolsList, headers: { host: 'evil.example', ...session } }),
      new Request(url, { method: 'GET', headers: { host: 'evil.example', ...session } }),
      new Request(url, { method: 'DELETE', headers: { host: 'evil.example', ...session } }),
    ]) {
      await expectRefused(await gate(request), 'Invalid Host header');
    }
    expect(handled()).toBe(0);
  });

  it('on 403 the store is never touched and the body never read', async () => {
    const { gate, storeCalls, handled } = hostGate();
    fixture.requests.reset();
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new TextEncoder().encode(initialize));
        controller.close();
      },
    }, { highWaterMark: 0 }); // nothing is pulled until someone reads
    const request = new Request('http://localhost/mcp', { method: 'POST', body, duplex: 'half', headers: { host: 'evil.example', 'content-type': 'application/json' } } as RequestInit);
    await expectRefused(await gate(request), 'Invalid Host header');
    await expectRefused(await gate(initializeAt('http://localhost/mcp', { origin: 'http://evil.example' })), 'Invalid Origin header');
    expect(pulls).toBe(0);
    expect(request.bodyUsed).toBe(false);
    expect(storeCalls()).toBe(0);
    expect(fixture.requests.total).toBe(0);
    expect(handled()).toBe(0);
  });

  it('is checked before anything else: before the version check and the body cap', async () => {
    const { gate } = hostGate({ maxBodyBytes: 10 });
    const evil = { host: 'evil.example' };
    await expectRefused(await gate(initializeAt('http://localhost/mcp', { ...evil, 'mcp-protocol-version': '9999-12-31' })), 'Invalid Host header');
    await expectRefused(await gate(initializeAt('http://localhost/mcp', { ...evil, 'content-length': String(1024 ** 3) })), 'Invalid Host header');
  });

  it('allows localhost, 127.0.0.1 and [::1] by default, on any port', async () => {
    const { gate, handled } = hostGate();
    for (const host of ['localhost', 'localhost:3001', '127.0.0.1', '127.0.0.1:65535', '[::1]', '[::1]:8080']) {
      expectAllowed(await gate(initializeAt('http://localhost/mcp', { host })));
    }
    expect(handled()).toBe(6);
  });

  it('host names are case-insensitive, a trailing dot is ignored, IPv6 is compared normalized', async () => {
    const { gate } = hostGate();
    for (const host of ['LOCALHOST', 'LocalHost:3001', 'localhost.', 'localhost.:3001', '[0:0:0:0:0:0:0:1]:3001']) {
      expectAllowed(await gate(initializeAt('http://localhost/mcp', { host })));
    }
  });

  it('refuses hosts that only resemble loopback, and malformed Host headers', async () => {
    const { gate, storeCalls } = hostGate();
    for (const host of [
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      'evil.localhost',
      '[::ffff:127.0.0.1]',
      '::1', // IPv6 without brackets
      'localhost:abc',
      'localhost:99999',
      'localhost:',
      'evil.example@localhost',
      'localhost/evil',
      'localhost, evil.example', // a repeated Host, comma-joined
      'localhost..',
      '%6cocalhost',
    ]) {
      await expectRefused(await gate(initializeAt('http://localhost/mcp', { host })), 'Invalid Host header');
    }
    expect(storeCalls()).toBe(0);
  });

  it('a request without a Host header is judged by the host of its URL (a Request built in code, HTTP/2 :authority)', async () => {
    const { gate } = hostGate();
    expectAllowed(await gate(initializeAt('http://localhost:3001/mcp')));
    expectAllowed(await gate(initializeAt('http://[::1]:3001/mcp')));
    await expectRefused(await gate(initializeAt('http://evil.example/mcp')), 'Invalid Host header');
  });

  it('an empty Host header gets 403 "Missing Host header"', async () => {
    const { gate } = hostGate();
    await expectRefused(await gate(initializeAt('http://localhost/mcp', { host: '' })), 'Missing Host header');
  });

  it('logs the refusal with the parsed host, and never echoes the sent value in the answer', async () => {
    const { gate, logger } = hostGate();
    const response = await gate(initializeAt('http://localhost/mcp', { host: 'Evil.Example.:8080' }));
    expect(await response.text()).not.toMatch(/evil/i);
    expect(logger.lines).toEqual([{ level: 'warn', message: 'request refused: Host or Origin not allowed', attributes: { header: 'host', host: 'evil.example:8080' } }]);
  });
});

describe('Origin header', () => {
  const localhost = 'http://localhost:3001/mcp';

  it('an Origin whose host is not allowed gets 403 "Invalid Origin header", even with an allowed Host', async () => {
    const { gate, storeCalls } = hostGate();
    for (const origin of ['http://evil.example', 'https://evil.example:3001', 'http://localhost.evil.example']) {
      await expectRefused(await gate(initializeAt(localhost, { origin })), 'Invalid Origin header');
    }
    expect(storeCalls()).toBe(0);
  });

  it('an Origin of null, a non-http(s) scheme or a malformed origin gets 403', async () => {
    const { gate } = hostGate();
    for (const origin of ['null', 'file://', 'chrome-extension://abcdef', 'ws://localhost', 'http://localhost/path', 'http://evil.example@localhost', 'http://localhost:99999', '']) {
      await expectRefused(await gate(initializeAt(localhost, { origin })), 'Invalid Origin header');
    }
  });

  it('a local web page on another port (an inspector in the browser) is allowed by default', async () => {
    const { gate } = hostGate();
    for (const origin of ['http://localhost:6274', 'http://127.0.0.1:5173', 'https://[::1]', 'HTTP://LOCALHOST.']) {
      expectAllowed(await gate(initializeAt(localhost, { origin })));
    }
  });
});

describe('configured hosts and origins', () => {
  it('allowedHosts replaces the default: `host` on any port, `host:port` on that port only (no port: the scheme default)', async () => {
    const { gate } = hostGate({ allowedHosts: ['mcp.example.com', 'api.example.com:8443', 'tls.example.com:443'] });
    for (const [url, host] of [
      ['http://x/mcp', 'mcp.example.com'],
      ['http://x/mcp', 'MCP.example.com:9000'],
      ['http://x/mcp', 'api.example.com:8443'],
      ['https://x/mcp', 'tls.example.com'],
    ] as const) {
      expectAllowed(await gate(initializeAt(url, { host })));
    }
    for (const [url, host] of [
      ['http://x/mcp', 'api.example.com'],
      ['http://x/mcp', 'api.example.com:443'],
      ['http://x/mcp', 'tls.example.com'],
      ['http://x/mcp', 'localhost'],
    ] as const) {
      await expectRefused(await gate(initializeAt(url, { host })), 'Invalid Host header');
    }
  });

  it('by default an Origin must name an allowed host: a configured host:port allows only that port', async () => {
    const { gate } = hostGate({ allowedHosts: ['api.example.com:8443'] });
    const host = { host: 'api.example.com:8443' };
    expectAllowed(await gate(initializeAt('http://x/mcp', { ...host, origin: 'https://api.example.com:8443' })));
    await expectRefused(await gate(initializeAt('http://x/mcp', { ...host, origin: 'https://api.example.com' })), 'Invalid Origin header');
  });

  it("allowedHosts 'any' turns the Host check off; an Origin must still be an http(s) origin", async () => {
    const { gate } = hostGate({ allowedHosts: 'any' });
    expectAllowed(await gate(initializeAt('http://internal-lb/mcp', { host: 'anything.example' })));
    expectAllowed(await gate(initializeAt('http://internal-lb/mcp', { host: 'anything.example', origin: 'https://app.example' })));
    await expectRefused(await gate(initializeAt('http://internal-lb/mcp', { origin: 'null' })), 'Invalid Origin header');
  });

  it('allowedOrigins lists the exact origins allowed, instead of those of allowed hosts', async () => {
    const { gate } = hostGate({ allowedHosts: ['api.example.com'], allowedOrigins: ['https://app.example.com', 'http://localhost:5173'] });
    const host = { host: 'api.example.com' };
    for (const origin of ['https://app.example.com', 'https://APP.example.com:443', 'http://localhost:5173']) {
      expectAllowed(await gate(initializeAt('http://x/mcp', { ...host, origin })));
    }
    for (const origin of ['http://app.example.com', 'https://app.example.com:8443', 'https://api.example.com', 'http://localhost:3000']) {
      await expectRefused(await gate(initializeAt('http://x/mcp', { ...host, origin })), 'Invalid Origin header');
    }
  });

  it("allowedOrigins 'any' turns the Origin check off, null included; the Host check stays", async () => {
    const { gate } = hostGate({ allowedOrigins: 'any' });
    expectAllowed(await gate(initializeAt('http://localhost/mcp', { origin: 'null' })));
    expectAllowed(await gate(initializeAt('http://localhost/mcp', { origin: 'https://evil.example' })));
    await expectRefused(await gate(initializeAt('http://evil.example/mcp')), 'Invalid Host header');
  });

  it('a malformed or empty allow-list throws a RangeError when the gate is built, not 403s later', () => {
    const build = (options: Partial<SessionGateOptions>) => () => sessionGate({ store: fixture.store, ...options }, async () => new Response());
    for (const allowedHosts of [[], [''], ['::1'], ['http://localhost'], ['*.example.com'], ['localhost:99999'], ['user@localhost'], ['localhost/mcp']]) {
      expect(build({ allowedHosts }), JSON.stringify(allowedHosts)).toThrow(RangeError);
    }
    for (const allowedOrigins of [[], ['localhost'], ['https://app.example.com/path'], ['null'], ['file://x']]) {
      expect(build({ allowedOrigins }), JSON.stringify(allowedOrigins)).toThrow(RangeError);
    }
  });
});

/** Raw HTTP, for what fetch will not send: HTTP/1.0 without Host, absolute-form targets. */
function rawHttp(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('over Node http (toNodeListener)', () => {
  let server: Server;
  let port: number;
  let probe: ReturnType<typeof hostGate>;
  beforeAll(async () => {
    probe = hostGate();
    server = createServer(toNodeListener(probe.gate));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const post = (target: string, headers: string) =>
    `POST ${target} HTTP/1.0\r\n${headers}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(initialize)}\r\n\r\n${initialize}`;

  it('HTTP/1.0 without a Host header never reaches the gate or the store (the adapter answers 400)', async () => {
    const before = { store: probe.storeCalls(), handled: probe.handled() };
    expect(await rawHttp(port, post('/mcp', ''))).toMatch(/^HTTP\/1\.[01] 400 /);
    expect({ store: probe.storeCalls(), handled: probe.handled() }).toEqual(before);
  });

  it('HTTP/1.0 without Host naming another host in an absolute-form target gets 403', async () => {
    const answer = await rawHttp(port, post('http://evil.example/mcp', ''));
    expect(answer).toMatch(/^HTTP\/1\.[01] 403 /);
    expect(answer).toContain('"message":"Invalid Host header"');
  });

  it('HTTP/1.1 with a rebinding Host gets 403; the same request to 127.0.0.1 passes', async () => {
    expect(await rawHttp(port, post('/mcp', 'host: evil.example\r\n'))).toMatch(/^HTTP\/1\.[01] 403 /);
    const answer = await fetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: initialize });
    expectAllowed(answer);
  });
});

describe('the example', () => {
  it('refuses a rebinding Host by default, and answers the hosts it is given', async () => {
    const options = { store: fixture.store, streams: streams.streams, instance: 't', principalOf: () => 'alice' };
    await expectRefused(await exampleMcpHandler(options)(initializeAt('http://localhost/mcp', { host: 'evil.example' })), 'Invalid Host header');
    const configured = exampleMcpHandler({ ...options, allowedHosts: ['mcp.example.com'] });
    expect((await configured(initializeAt('http://localhost/mcp', { host: 'mcp.example.com', accept: 'application/json, text/event-stream' }))).status).toBe(200);
    await expectRefused(await configured(initializeAt('http://localhost/mcp')), 'Invalid Host header');
  });

  describe('`npm run example` with ALLOWED_HOSTS', () => {
    let api: LocalApi;
    let example: Launched | undefined;
    beforeAll(async () => {
      api = await startLocalApi(
        { start: createStartHandler(fixture.store, fixture.logger), check: createCheckHandler(fixture.store, fixture.logger), destroy: createDestroyHandler(fixture.store, fixture.logger) },
        { port: 0 },
      );
    });
    afterAll(async () => {
      await example?.stop();
      await api?.close();
    });

    /** Status of an initialize to the example, sent with the given Host header. */
    const statusWithHost = (url: URL, host: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest(url, { method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'x-demo-user': 'alice' } }, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        request.end(initialize);
      });

    it('answers the hosts in ALLOWED_HOSTS (comma-separated) and refuses the others with 403', async () => {
      example = await launchTs('examples/mcp-server/main.ts', { MCP_SESSIONS_URL: api.url, PORT: '0', ALLOWED_HOSTS: ' mcp.example.com , 127.0.0.1:1 ' }, /listening on/);
      const url = new URL(/listening on (http:\/\/\S+)/.exec(example.output())?.[1] ?? '');
      expect(await statusWithHost(url, 'mcp.example.com')).toBe(200);
      expect(await statusWithHost(url, 'mcp.example.com:8080')).toBe(200);
      expect(await statusWithHost(url, url.host)).toBe(403); // 127.0.0.1 on another port than the one listed
      expect(await statusWithHost(url, 'localhost')).toBe(403);
    }, 60_000);

    it('a malformed ALLOWED_HOSTS entry: exits 1 with one line naming it, before contacting the session service', async () => {
      const child = spawn(TSX, [SOURCE_CONDITION_FLAG, 'examples/mcp-server/main.ts'], { env: { ...process.env, MCP_SESSIONS_URL: DEAD_ENDPOINT, PORT: '0', ALLOWED_HOSTS: 'localhost,::1' } });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(code).toBe(1);
      expect(output.trim()).toBe('ALLOWED_HOSTS: sessionGate: allowedHosts entry "::1" is not a host or host:port (IPv6 in brackets: [::1])');
    }, 60_000);
  });
});
