/**
 * Stand-ins for what sits between SessionClient and the session API, for SessionClient's tests: a
 * scripted server (fault injection: any status, header or body, a hang, an endless body), a SigV4
 * verifier written from the AWS specification independently of the signer under test, and a
 * proxy that serves the API under a base path the way an API Gateway custom domain mapping does.
 */
import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  /** The request target as received, base path included. */
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer. */
  hang?: boolean;
  /** Send the status and headers, then body bytes without end (chunked). */
  endlessBody?: boolean;
}

/** Replies in order (the last one repeats), or a function of the request. */
export type Script = Reply[] | ((seen: Seen, index: number) => Reply);

export interface TestServer {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

async function readRequest(request: IncomingMessage): Promise<Seen> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
  return { method: request.method ?? '', path: request.url ?? '', headers, body: Buffer.concat(chunks).toString() };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const closer = (server: Server) => (): Promise<void> =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/** A fault-injecting stand-in for the API: answers each request as the script says. */
export async function scriptedServer(script: Script): Promise<TestServer> {
  const seen: Seen[] = [];
  const server = createServer((request, response) => {
    void readRequest(request).then((request) => {
      seen.push(request);
      const index = seen.length - 1;
      const reply = Array.isArray(script) ? (script[Math.min(index, script.length - 1)] ?? { status: 500 }) : script(request, index);
      if (reply.hang) return;
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      if (!reply.endlessBody) return response.end(reply.body ?? '');
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once('drain', pump);
      };
      response.on('error', () => undefined);
      pump();
    });
  });
  return { url: await listen(server), seen, close: closer(server) };
}

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** The Authorization header SigV4 (execute-api) requires for this request, at its own x-amz-date. */
export function expectedAuthorization(seen: Seen, region: string, credentials = TEST_CREDENTIALS): string {
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(seen.headers.authorization ?? '')?.[1] ?? '';
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${(seen.headers[name] ?? '').trim()}\n`)
    .join('');
  const [path = '', query = ''] = seen.path.split('?');
  const canonicalRequest = [seen.method, path, query, canonicalHeaders, signedHeaders, sha256(seen.body)].join('\n');
  const amzDate = seen.headers['x-amz-date'] ?? '';
  const day = amzDate.slice(0, 8);
  const scope = `${day}/${region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), 'execute-api'), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

export const signedHeadersOf = (seen: Seen): string[] => /SignedHeaders=([^,]+)/.exec(seen.headers.authorization ?? '')?.[1]?.split(';') ?? [];

/** x-amz-date (20261124T102030Z) as epoch milliseconds. */
export const amzDateMs = (amzDate: string): number =>
  Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));

export interface BasePathProxy extends TestServer {
  /** Requests refused because their signature did not verify. */
  refused: number;
}

/**
 * Serves `upstream` under `basePath` as an API Gateway custom domain mapping does: `{basePath}/x`
 * reaches the API as `/x`, anything else gets API Gateway's own 404 `{"message":"Not Found"}`.
 * With `verify`, a request whose SigV4 signature does not verify over the path and host as this
 * proxy received them (base path included) gets 403 and never reaches the API. Headers such as
 * Location pass back unchanged, as API Gateway leaves them.
 */
export async function basePathProxy(basePath: string, upstream: string, options: { verify?: { region: string } } = {}): Promise<BasePathProxy> {
  const seen: Seen[] = [];
  let refused = 0;
  const server = createServer((request, response) => {
    void (async () => {
      const received = await readRequest(request);
      seen.push(received);
      const reply = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (!received.path.startsWith(`${basePath}/`)) return reply(404, { message: 'Not Found' });
      if (options.verify && received.headers.authorization !== expectedAuthorization(received, options.verify.region)) {
        refused++;
        return reply(403, { message: 'The request signature we calculated does not match the signature you provided.' });
      }
      const forwarded = Object.fromEntries(
        Object.entries(received.headers).filter(([name]) => !['host', 'connection', 'content-length', 'transfer-encoding'].includes(name)),
      );
      const answer = await fetch(`${upstream}${received.path.slice(basePath.length)}`, {
        method: received.method,
        headers: forwarded,
        ...(received.body === '' ? {} : { body: received.body }),
        redirect: 'manual',
      });
      const headers: Record<string, string> = {};
      answer.headers.forEach((value, name) => {
        if (!['connection', 'content-length', 'transfer-encoding', 'keep-alive'].includes(name)) headers[name] = value;
      });
      const body = Buffer.from(await answer.arrayBuffer());
      response.writeHead(answer.status, headers);
      response.end(body);
    })().catch(() => {
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end('{"message":"Bad Gateway"}');
    });
  });
  const url = await listen(server);
  return {
    url,
    seen,
    get refused() {
      return refused;
    },
    close: closer(server),
  };
}
