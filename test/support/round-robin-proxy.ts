/**
 * A load balancer with no stickiness, for the conformance harness and tests: request n goes to
 * target n mod targets.length, whatever session it belongs to. Bodies stream through both ways
 * (an SSE response reaches the client event by event), the Host header is passed on as the client
 * sent it (so the gate's DNS-rebinding check judges the client's Host, not the proxy's), and an
 * upstream request ends when its client goes away. An optional observer sees every exchange as it
 * passes (tests that must show which instance handled what) and may cut one, as a network would.
 */
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RoundRobinProxyOptions {
  /** Origins to forward to, e.g. `http://127.0.0.1:4001`; requests keep their path and query. */
  targets: readonly string[];
  /** Headers added to a request that does not carry them already (e.g. `x-demo-user`). */
  defaultHeaders?: Readonly<Record<string, string>>;
  port?: number;
  host?: string;
  /** Told of every exchange as it passes; never changes what is forwarded. */
  observer?: ProxyObserver;
}

/** One request through the proxy and its answer, as an observer sees it. */
export interface ForwardedExchange {
  /** How many requests the proxy took before this one. */
  readonly n: number;
  /** The index in `targets` of where it went. */
  readonly target: number;
  readonly method: string;
  /** Path and query, as forwarded. */
  readonly path: string;
  /** The headers as forwarded (the defaults added, hop-by-hop ones dropped). */
  readonly headers: Readonly<OutgoingHttpHeaders>;
  /** Drops the exchange as a failing network would: the client's connection is reset mid-answer and the upstream request ends. */
  cut(): void;
}

/**
 * Watches the exchanges (each call is synchronous, in the order things pass; it must not throw).
 * A chunk is seen once it was handed on, so a `cut` from `responseData` comes after that chunk.
 */
export interface ProxyObserver {
  request?(exchange: ForwardedExchange): void;
  requestData?(exchange: ForwardedExchange, chunk: Buffer): void;
  response?(exchange: ForwardedExchange, status: number, headers: IncomingHttpHeaders): void;
  responseData?(exchange: ForwardedExchange, chunk: Buffer): void;
  /** The exchange is over; `complete` when the whole answer was handed to the client. */
  closed?(exchange: ForwardedExchange, complete: boolean): void;
}

export interface RoundRobinProxy {
  /** The proxy's origin, e.g. `http://127.0.0.1:39123`. */
  url: string;
  /** Requests forwarded to each target so far, in the order of `targets`. */
  readonly forwarded: readonly number[];
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 7.6.1) belong to one connection; Node frames the body on each side itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const kept: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  return kept;
}

export async function startRoundRobinProxy(options: RoundRobinProxyOptions): Promise<RoundRobinProxy> {
  if (options.targets.length === 0) throw new RangeError('a round-robin proxy needs at least one target');
  const targets = options.targets.map((target) => new URL(target));
  const defaults = Object.entries(options.defaultHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const);
  const forwarded = targets.map(() => 0);
  const agent = new Agent({ keepAlive: true });
  const { observer } = options;
  let next = 0;
  let taken = 0;

  const forward = (request: IncomingMessage, response: ServerResponse) => {
    const index = next;
    next = (next + 1) % targets.length;
    forwarded[index] = (forwarded[index] ?? 0) + 1;
    const target = targets[index] as URL;
    const headers = endToEnd(request.headers);
    for (const [name, value] of defaults) headers[name] ??= value;

    const exchange: ForwardedExchange = {
      n: taken++,
      target: index,
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers,
      cut: () => response.destroy(),
    };
    observer?.request?.(exchange);

    const upstream = httpRequest({ protocol: target.protocol, hostname: target.hostname, port: target.port, method: request.method, path: request.url, headers, agent });
    upstream.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.headers));
      // Headers now, not with the first body chunk: an SSE stream may stay quiet for a while.
      response.flushHeaders();
      observer?.response?.(exchange, answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
      // After pipe's own listener: the observer sees a chunk once it was handed on.
      if (observer?.responseData) answer.on('data', (chunk: Buffer) => observer.responseData?.(exchange, chunk));
      answer.on('error', () => response.destroy());
    });
    upstream.on('error', () => {
      if (response.headersSent) response.destroy();
      else {
        observer?.response?.(exchange, 502, {});
        response.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unavailable');
      }
    });
    // The client went away (or the answer is done): nothing more to fetch for it.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy();
      observer?.closed?.(exchange, response.writableFinished);
    });
    if (observer?.requestData) request.on('data', (chunk: Buffer) => observer.requestData?.(exchange, chunk));
    request.pipe(upstream);
  };

  const server = createServer(forward);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    forwarded,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
