/** `npm run example` without `npm start`: one clear line saying to start the service, not a stack trace. */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exampleMcpHandler } from '../examples/mcp-server/app.js';
import { PROBE_DEADLINE_MS, consoleLogger, unreachableMessage } from '../examples/mcp-server/session-service.js';
import { SessionClient } from '../lib/session-client.js';
import { SessionStreamsClient } from '../lib/session-streams-client.js';
import { SOURCE_CONDITION_FLAG, TSX } from '../scripts/local/launch-ts.js';
import { DEAD_ENDPOINT, hangingEndpoint, type FaultyEndpoint } from './support/fakes.js';

/** Runs the example to its exit; `timedOut` if it is still running after `ms`. */
function runExample(env: Record<string, string>, ms: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  const child = spawn(TSX, [SOURCE_CONDITION_FLAG, 'examples/mcp-server/main.ts'], { env: { ...process.env, PORT: '0', ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, output, timedOut: true });
    }, ms);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut: false });
    });
  });
}

const expectOneClearLine = (output: string, origin: string) => {
  const lines = output.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toBe(`Cannot reach the session service at ${origin}: start it with \`npm start\` in another terminal (or set MCP_SESSIONS_URL to a running one).`);
  expect(output).not.toMatch(/\n\s+at |Error:/);
};

describe('the example without the session service', () => {
  let hanging: FaultyEndpoint;
  beforeAll(async () => {
    hanging = await hangingEndpoint();
  });
  afterAll(() => hanging.close());

  /** tsx compiling the example on a busy machine, on top of the probe's own deadline. */
  const STARTUP_ALLOWANCE_MS = 20_000;

  it('missing `npm start` (nothing listens on MCP_SESSIONS_URL): exits 1 with one line saying to start the service', async () => {
    const result = await runExample({ MCP_SESSIONS_URL: DEAD_ENDPOINT }, STARTUP_ALLOWANCE_MS);
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(1);
    expectOneClearLine(result.output, DEAD_ENDPOINT);
  }, 60_000);

  it('a session service that accepts and never answers: the same line once the probe deadline passes, never a hang', async () => {
    const result = await runExample({ MCP_SESSIONS_URL: hanging.url }, PROBE_DEADLINE_MS + STARTUP_ALLOWANCE_MS);
    expect(result.timedOut).toBe(false);
    expect(result.code).toBe(1);
    expectOneClearLine(result.output, hanging.url);
  }, 60_000);
});

describe('the example when the session service goes away later', () => {
  it('a store outage during a request is logged as the same one line, not a stack trace', async () => {
    const url = new URL(DEAD_ENDPOINT);
    const printed: unknown[][] = [];
    const service = { baseUrl: url.href, signing: { kind: 'none' }, maxAttempts: 1 } as const;
    const mcp = exampleMcpHandler({
      store: new SessionClient(service),
      streams: new SessionStreamsClient(service),
      instance: 't',
      logger: consoleLogger(url),
      principalOf: () => 'alice',
    });
    const spy = vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void printed.push(args));
    try {
      const response = await mcp(
        new Request('http://localhost/mcp', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), headers: { 'content-type': 'application/json', 'mcp-session-id': crypto.randomUUID() } }),
      );
      expect(response.status).toBe(503);
    } finally {
      await mcp.close();
      spy.mockRestore();
    }
    expect(printed).toEqual([[unreachableMessage(url)]]);
    expect(unreachableMessage(url)).toMatch(/start it with `npm start`/);
  });
});
