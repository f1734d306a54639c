import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/local/dynamodb-local.js';
import { launchTs, type Launched } from '../scripts/local/launch-ts.js';
import { TABLE_SETUP_DEADLINE_MS } from '../scripts/local/prepare-table.js';
import { DEAD_ENDPOINT, halfAnsweringEndpoint, hangingEndpoint } from './support/fakes.js';

const ENTRY = 'scripts/start-local.ts';
/** tsx and the script's imports, on a busy 2-core machine, before the script itself starts timing anything. */
const STARTUP_ALLOWANCE_MS = 15_000;

const dataRoot = mkdtempSync(join(tmpdir(), 'mcp-sessions-data-'));
// Not created yet: npm start creates it.
const dataDir = join(dataRoot, 'dynamodb');
afterAll(() => rmSync(dataRoot, { recursive: true, force: true }));
const baseEnv = (port: number): Record<string, string> => ({ PORT: String(port), MCP_SESSIONS_DATA_DIR: dataDir, TABLE_NAME: 'mcp-sessions', DYNAMODB_ENDPOINT: '' });

// Whatever a test leaves running (it failed midway) is killed after it.
const leftovers = new Set<number>();
afterEach(() => {
  for (const pid of leftovers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  leftovers.clear();
});

interface Finished {
  /** null when it had to be killed: it did not end by itself within the time given. */
  code: number | null;
  output: string;
}

/** Runs `npm start`'s script until it exits by itself, or kills it after `timeoutMs`. */
function runToExit(env: Record<string, string>, timeoutMs: number): Promise<Finished> {
  const child = spawn(join('node_modules', '.bin', 'tsx'), [ENTRY], { env: { ...process.env, ...env } });
  if (child.pid) leftovers.add(child.pid);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, output });
    }),
  );
}

async function launch(port: number): Promise<Launched & { javaPid: number; dynamoUrl: string }> {
  const launched = await launchTs(ENTRY, baseEnv(port), /listening on/);
  if (launched.child.pid) leftovers.add(launched.child.pid);
  const [, dynamoUrl = '', pid = ''] = /DynamoDB Local (http:\/\/\S+) \(pid (\d+)/.exec(launched.output()) ?? [];
  const javaPid = Number(pid);
  expect(javaPid).toBeGreaterThan(0);
  leftovers.add(javaPid);
  return { ...launched, javaPid, dynamoUrl };
}

/** How the launched process ended, once it has, without signalling it. */
const exitCode = (launched: Launched): Promise<number | null> =>
  launched.child.exitCode !== null ? Promise.resolve(launched.child.exitCode) : once(launched.child, 'exit').then(([code]) => code as number | null);

/** Alive and not a zombie (a zombie has exited; its parent just has not collected it yet). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim();
  return state !== '' && !state.startsWith('Z');
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

const parentOf = (pid: number): number => Number(spawnSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).stdout.trim());

/** 'connected', or the error code (ECONNREFUSED when nothing listens on that address). */
const tryConnect = (host: string, port: number): Promise<string> =>
  new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });

const nonLoopbackAddress = Object.values(networkInterfaces())
  .flat()
  .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

describe('npm start fails cleanly on bad settings, before starting DynamoDB Local', () => {
  it.each(['abc', '70000', '0', '-1', '3000x'])('PORT=%s: exits non-zero with a message naming PORT, and starts no DynamoDB Local', async (value) => {
    const result = await runToExit({ ...baseEnv(0), PORT: value }, STARTUP_ALLOWANCE_MS);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(new RegExp(`PORT must be a whole number from 1 to 65535, got "${value}"`));
    expect(result.output).not.toMatch(/DynamoDB Local http/);
  });

  it('PORT in use: exits non-zero with a message naming PORT, and starts no DynamoDB Local', async () => {
    const occupier = createServer();
    await new Promise<void>((resolve) => occupier.listen(0, '127.0.0.1', resolve));
    const port = (occupier.address() as AddressInfo).port;
    try {
      const result = await runToExit(baseEnv(port), STARTUP_ALLOWANCE_MS);
      expect(result.code).toBe(1);
      expect(result.output).toContain(`PORT ${port} on 127.0.0.1 is already in use`);
      expect(result.output).not.toMatch(/DynamoDB Local http/);
    } finally {
      occupier.close();
    }
  });
});

describe('npm start against a DYNAMODB_ENDPOINT that is not a working DynamoDB fails within seconds, naming DynamoDB and the endpoint', () => {
  const web: { server?: Server } = {};
  afterAll(() => web.server?.close());

  const expectQuickFailure = async (endpoint: string, why: RegExp) => {
    // Raced against the documented setup deadline: killed (code null) means it hung.
    const result = await runToExit({ ...baseEnv(await freePort()), DYNAMODB_ENDPOINT: endpoint }, STARTUP_ALLOWANCE_MS + TABLE_SETUP_DEADLINE_MS);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain(`DynamoDB at ${endpoint} cannot be used`);
    expect(result.output).toMatch(why);
    expect(result.output).not.toMatch(/listening on/);
  };

  it('an endpoint that accepts and never answers', async () => {
    const hanging = await hangingEndpoint();
    try {
      await expectQuickFailure(hanging.url, /no answer/);
      expect(hanging.connections()).toBeGreaterThan(0);
    } finally {
      await hanging.close();
    }
  }, 60_000);

  it('an endpoint that answers half a response and stalls', async () => {
    const half = await halfAnsweringEndpoint();
    try {
      await expectQuickFailure(half.url, /no answer/);
    } finally {
      await half.close();
    }
  }, 60_000);

  it('a dead port', async () => {
    await expectQuickFailure(DEAD_ENDPOINT, /connection refused/);
  }, 60_000);

  it('an HTTP server that is not DynamoDB', async () => {
    web.server = createHttpServer((_, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>a web page</body></html>');
    });
    await new Promise<void>((resolve) => web.server?.listen(0, '127.0.0.1', resolve));
    await expectQuickFailure(`http://127.0.0.1:${(web.server.address() as AddressInfo).port}`, /answered HTTP 200, but not as DynamoDB does/);
  }, 60_000);
});

describe('npm start never leaves DynamoDB Local behind', () => {
  it('a failure after DynamoDB Local started (DynamoDB refuses the table name) stops it before exiting non-zero', async () => {
    // "x" passes the service's config but DynamoDB refuses it (3-255 characters): a failure after Java is up.
    const result = await runToExit({ ...baseEnv(await freePort()), TABLE_NAME: 'x' }, STARTUP_ALLOWANCE_MS + TABLE_SETUP_DEADLINE_MS + 30_000);
    expect(result.code, result.output).toBe(1);
    const javaPid = Number(/DynamoDB Local http:\/\/\S+ \(pid (\d+)/.exec(result.output)?.[1]);
    expect(javaPid, result.output).toBeGreaterThan(0);
    expect(result.output).toMatch(/DynamoDB at http:\/\/127\.0\.0\.1:\d+ cannot be used: it answered HTTP 400 \(ValidationException\)/);
    expect(isAlive(javaPid)).toBe(false);
  }, 90_000);

  it('DynamoDB Local dying while npm start runs: the server says so, naming DynamoDB Local, and exits non-zero', async () => {
    const port = await freePort();
    const running = await launch(port);
    process.kill(running.javaPid, 'SIGKILL');
    expect(await exitCode(running)).toBe(1);
    expect(running.output()).toMatch(/DynamoDB Local stopped unexpectedly \(killed by SIGKILL\); stopping/);
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  }, 90_000);

  it('the process running npm start killed hard (SIGKILL): DynamoDB Local exits by itself', async () => {
    const running = await launch(await freePort());
    const node = parentOf(running.javaPid);
    expect(node).toBeGreaterThan(1);
    process.kill(node, 'SIGKILL');
    // Java watches its parent (scripts/local/dynamodb-local.xml) and exits within about a second.
    expect(await goneWithin(running.javaPid, 10_000)).toBe(true);
    await running.stop('SIGKILL');
  }, 90_000);

  it('the tsx launcher above it killed hard (SIGKILL): npm start notices, stops DynamoDB Local and exits', async () => {
    const port = await freePort();
    const running = await launch(port);
    const node = parentOf(running.javaPid);
    expect(node).not.toBe(running.child.pid);
    running.child.kill('SIGKILL');
    expect(await goneWithin(node, 10_000)).toBe(true);
    expect(await goneWithin(running.javaPid, 10_000)).toBe(true);
    expect(await tryConnect('127.0.0.1', port)).toBe('ECONNREFUSED');
  }, 90_000);
});

describe('npm start', () => {
  it.skipIf(nonLoopbackAddress === undefined)(
    `DynamoDB Local and the API listen on loopback only: this machine's other address (${nonLoopbackAddress}) gets connection refused`,
    async () => {
      const port = await freePort();
      const running = await launch(port);
      try {
        const dynamoPort = Number(new URL(running.dynamoUrl).port);
        expect(await tryConnect('127.0.0.1', dynamoPort)).toBe('connected');
        expect(await tryConnect('127.0.0.1', port)).toBe('connected');
        expect(await tryConnect(nonLoopbackAddress ?? '', dynamoPort)).toBe('ECONNREFUSED');
        expect(await tryConnect(nonLoopbackAddress ?? '', port)).toBe('ECONNREFUSED');
      } finally {
        expect(await running.stop('SIGINT')).toBe(0);
      }
    },
    90_000,
  );

  it('keeps sessions on disk (owner-only directory) across a restart, and Ctrl-C stops the server and DynamoDB Local', async () => {
    const port = await freePort();
    const first = await launch(port);
    expect(first.output()).toContain(`curl -i -X POST http://127.0.0.1:${port}/sessions`);
    const created = await fetch(`http://127.0.0.1:${port}/sessions`, { method: 'POST' });
    const { sessionId } = (await created.json()) as { sessionId: string };
    expect(await first.stop('SIGINT')).toBe(0);
    expect(isAlive(first.javaPid)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/sessions/${sessionId}`)).rejects.toThrow();
    await expect(fetch(first.dynamoUrl)).rejects.toThrow();
    if (process.platform !== 'win32') expect(statSync(dataDir).mode & 0o777).toBe(0o700);

    const second = await launch(port);
    try {
      expect(second.output()).toContain('table mcp-sessions found');
      const checked = await fetch(`http://127.0.0.1:${port}/sessions/${sessionId}`);
      expect(checked.status).toBe(200);
      expect(await checked.json()).toMatchObject({ sessionId, active: true });
    } finally {
      expect(await second.stop('SIGINT')).toBe(0);
    }
  }, 120_000);
});
