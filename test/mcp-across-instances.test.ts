/**
 * Issue 10's "must show", across real processes: the official SDK Client with its
 * StreamableHTTPClientTransport -> the project's round-robin proxy (no stickiness) -> example
 * instances as `npm run example` runs them (separate processes, sharing nothing but the service) ->
 * the session service as `npm start` serves it (local API, real handlers) -> DynamoDB Local.
 *
 * Nothing is assumed about where a request went: the proxy records every exchange (which instance,
 * the JSON-RPC messages each way, the SSE event ids), and the service reports every message an
 * instance stores in a session's streams (a stored stream's header names the instance running its
 * request). Requests follow each other, so the proxy's turn decides the instance; a test moves the
 * turn (a ping) to put a request where it wants it, and then checks the record. Waits are on
 * events (a recorded exchange, a stored message, a client handler), each with a deadline.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  McpError,
  ResourceUpdatedNotificationSchema,
  type ElicitResult,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Conditions, Gate, within } from './support/conditions.js';
import { launchExample, startSessionService, type ExampleProcess, type SessionService, type StoredMessage } from './support/example-cluster.js';
import { ProxyRecorder, type RecordedExchange } from './support/proxy-recorder.js';
import { startRoundRobinProxy, type RoundRobinProxy } from './support/round-robin-proxy.js';

const WATCHED_URI = 'test://watched-resource';
const LOG_STEPS = ['Tool execution started', 'Tool processing data', 'Tool execution completed'];
/** What a resumer answers for a request whose instance went silent (lib/mcp/sdk WRITER_GONE_ERROR). */
const WRITER_GONE = { code: -32603, message: 'The instance handling this request stopped; retry the request' };
/** A resumer gives up on a silent writer after 3 heartbeats of 5 s; the error then takes one poll and a reconnect. */
const WRITER_GONE_WITHIN_MS = 30_000;

type Json = Record<string, unknown>;
const isJson = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const methodOf = (message: unknown): string | undefined => (isJson(message) && typeof message.method === 'string' ? message.method : undefined);
const idOf = (message: unknown): unknown => (isJson(message) ? message.id : undefined);
const isResponse = (message: unknown): boolean => isJson(message) && message.jsonrpc === '2.0' && methodOf(message) === undefined && ('result' in message || 'error' in message);
const textOf = (result: unknown): string => {
  const content = isJson(result) && Array.isArray(result.content) ? (result.content as unknown[]) : [];
  const first = content[0];
  return isJson(first) && typeof first.text === 'string' ? first.text : '';
};
/** A POST stream's event id: `<streamId>.<base64url of its request ids' JSON>.<seq>`. */
const eventIdOf = (streamId: string, requestIds: unknown[], seq: number): string => `${streamId}.${Buffer.from(JSON.stringify(requestIds)).toString('base64url')}.${seq}`;
/** An event id -> its stream (as stored). */
const streamOf = (eventId: string | undefined): string => eventId?.split('.')[0] ?? '';
const sessionOf = (recorded: RecordedExchange): unknown => recorded.exchange.headers['mcp-session-id'];

/** A resumption: a GET naming the last event of a POST's stream (the standalone stream's are `_GET_stream.<seq>`). */
const isResume = (method: string, headers: Headers): boolean => method === 'GET' && (headers.get('last-event-id') ?? '_GET_stream').startsWith('_GET_stream') === false;

/** One proxy in front of some instances, with its recorder. */
interface Balanced {
  proxy: RoundRobinProxy;
  recorder: ProxyRecorder;
  url: string;
}

interface Hold {
  /** Resolves when the held request is about to be sent. */
  reached: Promise<void>;
  release(): void;
}

interface ClientOptions {
  /** The client's answer to elicitation/create (default: accept, as ada). */
  elicit?: (message: string) => Promise<ElicitResult>;
}

interface TestClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  sessionId: string;
  /** The standalone GET the SDK client opened after initialize. */
  standaloneGet: RecordedExchange;
  /** `notifications/message` data, in the order received. */
  logs: unknown[];
  /** `notifications/resources/updated` URIs, in the order received. */
  updates: string[];
  /** The next request `matches` accepts waits, before it reaches the proxy, until released. */
  holdNext(matches: (method: string, headers: Headers) => boolean): Hold;
}

describe('one MCP session across example processes behind a round-robin proxy', () => {
  const conditions = new Conditions();
  let service: SessionService;
  let a: ExampleProcess;
  let b: ExampleProcess;
  /** The instance the second crash test kills (A is gone by then). */
  let c: ExampleProcess;
  /** The instance the third crash test kills (A and C are gone by then). */
  let d: ExampleProcess;
  /** A and B. */
  let pair: Balanced;
  const open: TestClient[] = [];
  const proxies: RoundRobinProxy[] = [];

  async function balance(instances: ExampleProcess[]): Promise<Balanced> {
    const recorder = new ProxyRecorder(
      instances.map((instance) => instance.name),
      conditions,
    );
    const proxy = await startRoundRobinProxy({ targets: instances.map((instance) => instance.origin), observer: recorder });
    proxies.push(proxy);
    return { proxy, recorder, url: `${proxy.url}/mcp` };
  }

  beforeAll(async () => {
    service = await startSessionService('across', conditions);
    [a, b, c, d] = await Promise.all([launchExample('A', service.url), launchExample('B', service.url), launchExample('C', service.url), launchExample('D', service.url)]);
    pair = await balance([a, b]);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((client) => client.client.close()));
  });

  afterAll(async () => {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await Promise.all([a, b, c, d].map((instance) => instance?.stop()));
    await service?.close();
  });

  /**
   * An SDK client through the proxy, connected, with its standalone GET on target `getOn`. Its
   * first three requests (initialize, initialized, the GET) follow each other, so with two targets
   * the GET lands where initialize does; requests without a session (refused at once) move the turn there.
   */
  async function connect(via: Balanced, getOn: number, options: ClientOptions = {}): Promise<TestClient> {
    while (via.recorder.nextTarget !== getOn) await (await fetch(via.url, { method: 'GET' })).body?.cancel();
    const holds: { matches: (method: string, headers: Headers) => boolean; gate: Gate; reached: Gate }[] = [];
    const fetchVia: FetchLike = async (url, init) => {
      const headers = new Headers(init?.headers);
      const hold = holds.find((candidate) => candidate.matches(init?.method ?? 'GET', headers));
      if (hold !== undefined) {
        holds.splice(holds.indexOf(hold), 1);
        hold.reached.open();
        await hold.gate.opened;
      }
      return fetch(url, init);
    };
    const transport = new StreamableHTTPClientTransport(new URL(via.url), { fetch: fetchVia, requestInit: { headers: { 'x-demo-user': 'alice' } } });
    const client = new Client({ name: 'across-instances', version: '1.0.0' }, { capabilities: { elicitation: {}, sampling: {} } });
    const logs: unknown[] = [];
    const updates: string[] = [];
    const elicit = options.elicit ?? (async (): Promise<ElicitResult> => ({ action: 'accept', content: { username: 'ada', email: 'ada@example.com' } }));
    client.setRequestHandler(ElicitRequestSchema, (request) => elicit(request.params.message));
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const asked = request.params.messages.map((message) => textOf({ content: [message.content].flat() })).join(' ');
      return { role: 'assistant', content: { type: 'text', text: `an answer to "${asked}"` }, model: 'canned', stopReason: 'endTurn' };
    });
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      logs.push(notification.params.data);
      conditions.changed();
    });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      updates.push(notification.params.uri);
      conditions.changed();
    });
    await client.connect(transport);
    const sessionId = transport.sessionId ?? '';
    const testClient: TestClient = {
      client,
      transport,
      sessionId,
      standaloneGet: await via.recorder.exchange('the standalone GET answered', (r) => r.method === 'GET' && r.lastEventId === undefined && sessionOf(r) === sessionId && r.status !== undefined),
      logs,
      updates,
      holdNext: (matches) => {
        const hold = { matches, gate: new Gate(), reached: new Gate() };
        holds.push(hold);
        return { reached: hold.reached.opened, release: () => hold.gate.open() };
      },
    };
    open.push(testClient);
    expect([testClient.standaloneGet.exchange.target, testClient.standaloneGet.status]).toEqual([getOn, 200]);
    return testClient;
  }

  /** Pings (each to the next target in turn) until the client's next request goes to `target`. */
  async function turnTo(via: Balanced, client: TestClient, target: number): Promise<void> {
    while (via.recorder.nextTarget !== target) await client.client.ping();
  }

  /** The exchange that carried the JSON-RPC request with this method (and tool name), newest first. */
  function carrying(via: Balanced, client: TestClient, method: string, tool?: string): RecordedExchange {
    const found = via.recorder.exchanges.findLast(
      (r) =>
        sessionOf(r) === client.sessionId &&
        ProxyRecorder.messagesOf(r).some((m) => methodOf(m) === method && (tool === undefined || (isJson(m) && isJson(m.params) && m.params.name === tool))),
    );
    if (found === undefined) throw new Error(`no exchange carried ${method} ${tool ?? ''}\n${via.recorder.summary()}`);
    return found;
  }

  const requestIdOf = (recorded: RecordedExchange): unknown => idOf(ProxyRecorder.messagesOf(recorded)[0]);

  /** What instances stored in one stream of a session, in order. */
  const storedIn = (sessionId: string, streamId: string): StoredMessage[] => service.stored.filter((s) => s.sessionId === sessionId && s.streamId === streamId);

  it('elicitation and sampling: the client answers through the other instance, and the tool gets the answer', async () => {
    const client = await connect(pair, 1);

    // test_elicitation runs on A; the client's answer is its next request: to B.
    await turnTo(pair, client, 0);
    const elicited = await client.client.callTool({ name: 'test_elicitation', arguments: { message: 'Who is there?' } });
    expect(textOf(elicited)).toBe('User response: action=accept, content={"username":"ada","email":"ada@example.com"}');
    const elicitCall = carrying(pair, client, 'tools/call', 'test_elicitation');
    const asked = elicitCall.events.map((e) => e.message).find((m) => methodOf(m) === 'elicitation/create');
    expect(elicitCall.instance).toBe('A');
    expect(asked).toMatchObject({ id: expect.stringMatching(/^relay:/), params: { message: 'Who is there?' } });
    const elicitAnswer = pair.recorder.exchanges.filter((r) => ProxyRecorder.messagesOf(r).some((m) => isResponse(m) && idOf(m) === idOf(asked)));
    expect(elicitAnswer.map((r) => [r.instance, r.status])).toEqual([['B', 202]]);
    // B could not hand it over in memory: it went into the relay stream named by its id, for A to read.
    expect(storedIn(client.sessionId, String(idOf(asked))).map((s) => s.message)).toEqual([
      expect.objectContaining({ id: idOf(asked), result: { action: 'accept', content: { username: 'ada', email: 'ada@example.com' } } }),
    ]);

    // test_sampling runs on B; the client's answer goes to A.
    await turnTo(pair, client, 1);
    const sampled = await client.client.callTool({ name: 'test_sampling', arguments: { prompt: 'What is six times seven?' } });
    expect(textOf(sampled)).toBe('LLM response: an answer to "What is six times seven?"');
    const sampleCall = carrying(pair, client, 'tools/call', 'test_sampling');
    const sampleRequest = sampleCall.events.map((e) => e.message).find((m) => methodOf(m) === 'sampling/createMessage');
    expect(sampleCall.instance).toBe('B');
    expect(sampleRequest).toMatchObject({ id: expect.stringMatching(/^relay:/) });
    const sampleAnswer = pair.recorder.exchanges.filter((r) => ProxyRecorder.messagesOf(r).some((m) => isResponse(m) && idOf(m) === idOf(sampleRequest)));
    expect(sampleAnswer.map((r) => [r.instance, r.status])).toEqual([['A', 202]]);
    await client.transport.terminateSession();
  });

  it('logging/setLevel sent to one instance is honoured by the other', async () => {
    const client = await connect(pair, 0);

    // "warning" set on A; B runs the tool, whose three messages are "info": none arrives.
    await turnTo(pair, client, 0);
    await client.client.setLoggingLevel('warning');
    expect(await client.client.callTool({ name: 'test_tool_with_logging' })).toMatchObject({ content: [{ text: 'Tool with logging completed' }] });
    expect([carrying(pair, client, 'logging/setLevel').instance, carrying(pair, client, 'tools/call', 'test_tool_with_logging').instance]).toEqual(['A', 'B']);
    // The result follows the tool's messages on its stream: nothing can come after it.
    expect(client.logs).toEqual([]);
    expect(carrying(pair, client, 'tools/call', 'test_tool_with_logging').events.map((e) => methodOf(e.message) ?? 'result')).toEqual(['result']);

    // "info" set on B; A runs the tool: all three arrive, on A's stream.
    await turnTo(pair, client, 1);
    await client.client.setLoggingLevel('info');
    await client.client.callTool({ name: 'test_tool_with_logging' });
    expect([carrying(pair, client, 'logging/setLevel').instance, carrying(pair, client, 'tools/call', 'test_tool_with_logging').instance]).toEqual(['B', 'A']);
    expect(client.logs).toEqual(LOG_STEPS);
    await client.transport.terminateSession();
  });

  it('subscribed on A, updated on B: notifications/resources/updated arrives on the standalone GET held by A', async () => {
    const client = await connect(pair, 0);
    expect(client.standaloneGet.instance).toBe('A');
    const touch = async (target: number) => {
      await turnTo(pair, client, target);
      await client.client.callTool({ name: 'touch_watched_resource' });
      expect(carrying(pair, client, 'tools/call', 'touch_watched_resource').exchange.target).toBe(target);
    };
    const updatesOnGet = () => client.standaloneGet.events.filter((e) => methodOf(e.message) === 'notifications/resources/updated');

    await touch(1); // not subscribed yet: B sends nothing
    await turnTo(pair, client, 0);
    await client.client.subscribeResource({ uri: WATCHED_URI });
    expect(carrying(pair, client, 'resources/subscribe').instance).toBe('A');
    await touch(1);
    await conditions.until('the update on the client', () => client.updates.length > 0);
    expect(client.updates).toEqual([WATCHED_URI]);
    expect(updatesOnGet().map((e) => e.message)).toEqual([expect.objectContaining({ params: { uri: WATCHED_URI } })]);

    // Unsubscribed on B, a touch on A is not sent; a later subscription's update (made on B, sent by
    // A) comes after anything the unsubscribed one could have sent on the same stream.
    await turnTo(pair, client, 1);
    await client.client.unsubscribeResource({ uri: WATCHED_URI });
    await touch(0);
    await turnTo(pair, client, 1);
    await client.client.subscribeResource({ uri: WATCHED_URI });
    await touch(0);
    await conditions.until('the second update on the client', () => client.updates.length > 1);
    expect(client.updates).toEqual([WATCHED_URI, WATCHED_URI]);
    expect(updatesOnGet()).toHaveLength(2);
    // Filtered where it is sent: only the two subscribed touches reached the session's standalone stream.
    expect(storedIn(client.sessionId, '_GET_stream').map((s) => methodOf(s.message))).toEqual(['notifications/resources/updated', 'notifications/resources/updated']);
    expect(pair.recorder.exchanges.filter((r) => r.method === 'GET' && sessionOf(r) === client.sessionId)).toEqual([client.standaloneGet]);
    await client.transport.terminateSession();
  });

  it('a stream closed by the server mid-call on A (SEP-1699) resumes on B with Last-Event-ID: the result once', async () => {
    const client = await connect(pair, 1);
    const seen: string[] = [];
    await turnTo(pair, client, 0);
    const result = await client.client.callTool({ name: 'test_reconnection' }, undefined, { onresumptiontoken: (id) => seen.push(id) });
    expect(textOf(result)).toBe('Reconnection test completed');

    const call = carrying(pair, client, 'tools/call', 'test_reconnection');
    const stream = streamOf(call.eventIds[0]);
    const resumes = pair.recorder.exchanges.filter((r) => r.lastEventId !== undefined && streamOf(r.lastEventId) === stream);
    expect(call).toMatchObject({ instance: 'A', complete: true, events: [] }); // closed with only its priming event
    expect(resumes.map((r) => [r.instance, r.lastEventId])).toEqual([['B', eventIdOf(stream, [requestIdOf(call)], 1)]]);
    expect(resumes[0]?.events.map((e) => e.message)).toEqual([expect.objectContaining({ id: requestIdOf(call), result: expect.anything() })]);
    // Each stored event reached the client once, in order; A wrote them (the header names it).
    expect(seen).toEqual([1, 2].map((seq) => eventIdOf(stream, [requestIdOf(call)], seq)));
    expect(storedIn(client.sessionId, stream).map((s) => s.seq)).toEqual([1, 2]);
    expect(storedIn(client.sessionId, stream)[0]?.message).toMatchObject({ mcpSessions: 'stream', instance: 'A', requestIds: [requestIdOf(call)] });
    await client.transport.terminateSession();
  });

  it('a stream cut by the network mid-call on A resumes on B with Last-Event-ID: every event exactly once', async () => {
    const client = await connect(pair, 1);
    const seen: string[] = [];
    const progress: number[] = [];
    await turnTo(pair, client, 0);
    const result = await client.client.callTool({ name: 'test_tool_with_progress' }, undefined, {
      onresumptiontoken: (id) => seen.push(id),
      onprogress: ({ progress: done }) => {
        progress.push(done);
        // The first progress reached the client: the connection drops (A is still working).
        if (progress.length === 1) carrying(pair, client, 'tools/call', 'test_tool_with_progress').exchange.cut();
      },
    });
    expect(textOf(result)).toBe('Tool with progress completed');
    expect(progress).toEqual([0, 50, 100]);

    const call = carrying(pair, client, 'tools/call', 'test_tool_with_progress');
    const stream = streamOf(call.eventIds[0]);
    const stored = storedIn(client.sessionId, stream);
    const resumes = pair.recorder.exchanges.filter((r) => r.lastEventId !== undefined && streamOf(r.lastEventId) === stream);
    expect(call).toMatchObject({ instance: 'A', complete: false });
    expect(resumes.map((r) => r.instance)).toEqual(['B']);
    // What A's tool sent (stored once A saw its client gone, then as it went): header, 3 progress, result.
    expect(stored.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(stored[0]?.message).toMatchObject({ mcpSessions: 'stream', instance: 'A' });
    expect(stored.slice(1).map((s) => (methodOf(s.message) === 'notifications/progress' ? (s.message as { params: { progress: number } }).params.progress : 'result'))).toEqual([0, 50, 100, 'result']);
    // The client saw every stored event exactly once: up to the cut from A, the rest from B, which
    // sent exactly what came after the client's Last-Event-ID.
    expect(seen).toEqual(stored.map((s) => eventIdOf(stream, [requestIdOf(call)], s.seq)));
    const cutAt = seen.indexOf(resumes[0]?.lastEventId ?? '');
    expect(cutAt).toBeGreaterThanOrEqual(1); // at least the priming event and the first progress came from A
    expect(call.eventIds.slice(0, cutAt + 1)).toEqual(seen.slice(0, cutAt + 1));
    expect(resumes[0]?.eventIds).toEqual(seen.slice(cutAt + 1));
    await client.transport.terminateSession();
  });

  describe('an instance killed (SIGKILL) mid tool call', () => {
    it('with the result already stored: the client reconnects to the other instance and gets it', async () => {
      const client = await connect(pair, 1);
      const seen: string[] = [];
      // The client's reconnection waits until A is gone: a crash first, then the reconnect.
      const reconnect = client.holdNext(isResume);
      await turnTo(pair, client, 0);
      const call = client.client.callTool({ name: 'test_reconnection' }, undefined, { onresumptiontoken: (id) => seen.push(id) });
      const request = await pair.recorder.exchange('the tools/call', (r) => sessionOf(r) === client.sessionId && ProxyRecorder.messagesOf(r).some((m) => methodOf(m) === 'tools/call'));
      expect(request.instance).toBe('A');
      const result = await conditions.find('A storing the result', () =>
        service.stored.find((s) => s.sessionId === client.sessionId && isResponse(s.message) && idOf(s.message) === requestIdOf(request)),
      );
      await a.kill();
      await reconnect.reached;
      reconnect.release();

      expect(textOf(await call)).toBe('Reconnection test completed');
      const resumes = pair.recorder.exchanges.filter((r) => r.lastEventId !== undefined && streamOf(r.lastEventId) === result.streamId);
      expect(resumes.map((r) => [r.instance, r.status])).toEqual([['B', 200]]);
      expect(resumes[0]?.events.map((e) => e.message)).toEqual([result.message]);
      expect(seen).toEqual([1, result.seq].map((seq) => eventIdOf(result.streamId, [requestIdOf(request)], seq)));
      expect(storedIn(client.sessionId, result.streamId)[0]?.message).toMatchObject({ instance: 'A' });
    });

    it('with the work unfinished: the reconnect to the other instance ends in a JSON-RPC error, not a hang', async () => {
      // A is gone: B and C now, the client's standalone GET on B, the tool on C.
      const survivors = await balance([b, c]);
      const asked = new Gate();
      const never = new Gate();
      const client = await connect(survivors, 0, {
        elicit: async () => {
          asked.open();
          await never.opened;
          return { action: 'decline' };
        },
      });
      const seen: string[] = [];
      const reconnect = client.holdNext(isResume);
      await turnTo(survivors, client, 1);
      const call = client.client.callTool({ name: 'test_elicitation', arguments: { message: 'Still there?' } }, undefined, { onresumptiontoken: (id) => seen.push(id) });
      const failure = call.then(
        () => new Error('the call succeeded'),
        (error: unknown) => error,
      );
      // The tool on C waits for the client's answer, which the client holds back; its connection drops.
      await asked.opened;
      const request = carrying(survivors, client, 'tools/call', 'test_elicitation');
      expect(request.instance).toBe('C');
      request.exchange.cut();
      // C saw its client go: it stored the stream so far (header, the elicitation request), then C crashes.
      const stream = streamOf(request.eventIds[0]);
      await conditions.until('C storing its stream', () => storedIn(client.sessionId, stream).some((s) => methodOf(s.message) === 'elicitation/create'));
      await c.kill();
      await reconnect.reached;
      reconnect.release();

      // B replays nothing new, hears no heartbeat from C, and answers the call with an error.
      const error = await within(WRITER_GONE_WITHIN_MS, 'the call on the crashed instance', failure);
      expect(error).toBeInstanceOf(McpError);
      expect(error).toMatchObject({ code: WRITER_GONE.code, message: expect.stringContaining(WRITER_GONE.message) });
      const resume = survivors.recorder.exchanges.find((r) => r.lastEventId !== undefined && streamOf(r.lastEventId) === stream);
      expect(resume).toMatchObject({ instance: 'B', status: 200, lastEventId: eventIdOf(stream, [requestIdOf(request)], 2) });
      expect(resume?.events.map((e) => e.message)).toEqual([{ jsonrpc: '2.0', id: requestIdOf(request), error: WRITER_GONE }]);
      // Stored by B too, so a later resume finds the stream complete.
      expect(storedIn(client.sessionId, stream).map((s) => s.message)).toEqual([
        expect.objectContaining({ mcpSessions: 'stream', instance: 'C' }),
        expect.objectContaining({ method: 'elicitation/create' }),
        { jsonrpc: '2.0', id: requestIdOf(request), error: WRITER_GONE },
      ]);
      await client.client.close();
      never.open();
    });

    it('with the client still attached (nothing stored yet): the reconnect ends in a JSON-RPC error, not the client timeout', async () => {
      // A and C are gone: B and D now, the client's standalone GET on B, the tool on D.
      const survivors = await balance([b, d]);
      const asked = new Gate();
      const never = new Gate();
      const client = await connect(survivors, 0, {
        elicit: async () => {
          asked.open();
          await never.opened;
          return { action: 'decline' };
        },
      });
      const seen: string[] = [];
      const reconnect = client.holdNext(isResume);
      await turnTo(survivors, client, 1);
      const call = client.client.callTool({ name: 'test_elicitation', arguments: { message: 'Anyone?' } }, undefined, { onresumptiontoken: (id) => seen.push(id) });
      const failure = call.then(
        () => new Error('the call succeeded'),
        (error: unknown) => error,
      );
      // The tool on D waits for the client's answer, which the client holds back; still attached, D crashes.
      await asked.opened;
      const request = carrying(survivors, client, 'tools/call', 'test_elicitation');
      expect(request.instance).toBe('D');
      await d.kill();
      await reconnect.reached;
      // D kept the stream in memory while its client was attached: nothing of it was stored.
      const stream = streamOf(request.eventIds[0]);
      expect(storedIn(client.sessionId, stream)).toEqual([]);
      // The priming event and the elicitation: their ids name the stream's request, for whoever resumes it.
      expect(seen).toEqual([1, 2].map((seq) => eventIdOf(stream, [requestIdOf(request)], seq)));
      reconnect.release();

      // B finds nothing stored for the liveness timeout, and answers the request the id names with an error.
      const error = await within(WRITER_GONE_WITHIN_MS, 'the call on the instance that crashed attached', failure);
      expect(error).toBeInstanceOf(McpError);
      expect(error).toMatchObject({ code: WRITER_GONE.code, message: expect.stringContaining(WRITER_GONE.message) });
      const resumes = survivors.recorder.exchanges.filter((r) => r.lastEventId !== undefined && streamOf(r.lastEventId) === stream);
      expect(resumes.map((r) => [r.instance, r.status, r.lastEventId])).toEqual([['B', 200, eventIdOf(stream, [requestIdOf(request)], 2)]]);
      expect(resumes[0]?.events.map((e) => e.message)).toEqual([{ jsonrpc: '2.0', id: requestIdOf(request), error: WRITER_GONE }]);
      // Stored by B, after a header naming the request (no instance ran it there), so a later resume finds the stream complete.
      expect(storedIn(client.sessionId, stream).map((s) => s.message)).toEqual([
        { mcpSessions: 'stream', requestIds: [requestIdOf(request)], at: expect.any(Number) },
        { jsonrpc: '2.0', id: requestIdOf(request), error: WRITER_GONE },
      ]);
      await client.client.close();
      never.open();
    });
  });
});
