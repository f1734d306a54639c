import autocannon from 'autocannon';
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../scripts/local/dynamodb-local.js';
import { launchProcess, type Launched } from '../../scripts/local/launch-ts.js';
import { treeCpuMs } from '../cpu.js';
import { median, progress, round, type BenchContext } from '../support.js';

const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'bench', '.build', 'gate');
const CONNECTIONS = 8;
const PROTOCOL_VERSION = '2025-11-25';
const USER = 'bench';
/** The check cache's maxAgeMs in the rows that use it. */
const CACHE_MAX_AGE_MS = 1000;

/** One MCP server under test, run as bundled JavaScript on plain Node in its own process. */
interface ServerSpec {
  name: string;
  entry: 'bare' | 'gate';
  env: Record<string, string>;
  /** Sessions initialized through the gate before the rounds and handed out in turn (0: none, the bare server). */
  sessions: number;
  /** The ratio to bare throughput the issue sets; undefined for bare itself. */
  target?: number;
  /** The local API is in play: its CPU is accounted too. */
  overHttp: boolean;
}

export interface CpuMsPerCall {
  /** The MCP server process (gate + SDK server + store client). */
  server: number;
  /** The local session API process (0 when not in play). */
  sessionApi: number;
  dynamodbLocal: number;
  /** autocannon, in the bench process. */
  load: number;
  total: number;
}

export interface GateThroughputRow {
  server: string;
  /** Mean over the kept rounds. */
  requestsPerSecond: number;
  /** Slowest and fastest kept round. */
  roundRange: [number, number];
  /** Median of the kept rounds' p50 / p99. */
  p50Ms: number;
  p99Ms: number;
  /** Throughput over the bare server's in the same rounds. */
  ratioToBare: number;
  target: number | undefined;
  /** Non-2xx answers and socket errors: any at all fails the bench. */
  errors: number;
  sessions: number;
  cpuMsPerCall: CpuMsPerCall;
}

export interface GateThroughputResult {
  connections: number;
  roundSeconds: number;
  rounds: number;
  discardedRounds: number;
  checkCacheMaxAgeMs: number;
  rows: GateThroughputRow[];
}

const ECHO_CALL = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hello' } } });
const BASE_HEADERS = {
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  'mcp-protocol-version': PROTOCOL_VERSION,
  'x-demo-user': USER,
};

async function bundle(name: string, entry: string): Promise<string> {
  const outfile = join(OUT, `${name}.mjs`);
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', logLevel: 'silent' });
  return outfile;
}

/** Starts a session through the gate as a client would: initialize, then notifications/initialized. */
async function initializeSession(url: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: BASE_HEADERS,
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } },
    }),
  });
  await response.text();
  const sessionId = response.headers.get('mcp-session-id');
  if (response.status !== 200 || sessionId === null) throw new Error(`initialize answered ${response.status} without a session`);
  const initialized = await fetch(url, {
    method: 'POST',
    headers: { ...BASE_HEADERS, 'mcp-session-id': sessionId },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
  });
  await initialized.text();
  if (initialized.status !== 202) throw new Error(`notifications/initialized answered ${initialized.status}`);
  return sessionId;
}

/** One echo call, read and checked, so a server that answers fast but wrongly is caught before it is timed. */
async function assertEchoes(url: string, sessionId: string | undefined): Promise<void> {
  const response = await fetch(url, { method: 'POST', headers: { ...BASE_HEADERS, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) }, body: ECHO_CALL });
  const text = await response.text();
  if (response.status !== 200 || !text.includes('"text":"hello"')) throw new Error(`echo answered ${response.status}: ${text.slice(0, 200)}`);
}

interface Totals {
  requests: number;
  errors: number;
  perRound: number[];
  p50s: number[];
  p99s: number[];
  cpu: { server: number; sessionApi: number; dynamodbLocal: number; load: number };
}

const emptyTotals = (): Totals => ({ requests: 0, errors: 0, perRound: [], p50s: [], p99s: [], cpu: { server: 0, sessionApi: 0, dynamodbLocal: 0, load: 0 } });

/**
 * Scenario: MCP `tools/call` (the `echo` tool) through the session gate, with the DynamoDB store in
 * process and with SessionClient over the local API, each with and without the check cache, against
 * the bare stateless SDK server; plus the gate with no store at all (its own cost) and one session
 * shared by all connections with and without coalescing. Each
 * server is bundled by esbuild and run by plain Node in its own process; autocannon drives it with
 * 8 keep-alive connections in interleaved rounds (the order rotating each round), the first round
 * left out as warm-up, so the machine's noisy moments fall on every server alike.
 */
export async function measureGateThroughput(context: BenchContext): Promise<GateThroughputResult> {
  const rounds = context.quick ? 2 : 4;
  const roundSeconds = context.quick ? 2 : 6;
  const discardedRounds = 1;
  mkdirSync(OUT, { recursive: true });
  progress('gate throughput: bundling the bench servers and the local API with esbuild');
  const [bareFile, gateFile, apiFile] = await Promise.all([
    bundle('bare', join(ROOT, 'bench', 'servers', 'bare.ts')),
    bundle('gate', join(ROOT, 'bench', 'servers', 'gate.ts')),
    bundle('local-api', join(ROOT, 'scripts', 'start-local.ts')),
  ]);
  const table = await context.newTable('gate');
  const quiet = { POWERTOOLS_LOG_LEVEL: 'ERROR', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

  const launched: Launched[] = [];
  try {
    const apiPort = await freePort();
    const api = await launchProcess(process.execPath, [apiFile], { ...quiet, PORT: String(apiPort), DYNAMODB_ENDPOINT: context.endpoint, TABLE_NAME: table.tableName }, /listening on/);
    launched.push(api);
    const inProcessEnv = { STORE: 'in-process', MCP_SESSIONS_TABLE_NAME: table.tableName, MCP_SESSIONS_DYNAMODB_ENDPOINT: context.endpoint };
    const httpEnv = { STORE: 'http', SESSIONS_URL: `http://127.0.0.1:${apiPort}` };
    const cache = { CHECK_CACHE_MAX_AGE_MS: String(CACHE_MAX_AGE_MS) };
    const coalesce = { CHECK_CACHE_MAX_AGE_MS: '0' };
    const specs: ServerSpec[] = [
      { name: 'bare stateless SDK', entry: 'bare', env: {}, sessions: 0, overHttp: false },
      { name: 'gate, no store (sessions in a Map)', entry: 'gate', env: { STORE: 'memory' }, sessions: CONNECTIONS, overHttp: false },
      { name: 'gate, in-process store', entry: 'gate', env: inProcessEnv, sessions: CONNECTIONS, target: 0.75, overHttp: false },
      { name: `gate, in-process store + check cache ${CACHE_MAX_AGE_MS} ms`, entry: 'gate', env: { ...inProcessEnv, ...cache }, sessions: CONNECTIONS, target: 0.75, overHttp: false },
      { name: 'gate, SessionClient → local API', entry: 'gate', env: httpEnv, sessions: CONNECTIONS, target: 0.5, overHttp: true },
      { name: `gate, SessionClient → local API + check cache ${CACHE_MAX_AGE_MS} ms`, entry: 'gate', env: { ...httpEnv, ...cache }, sessions: CONNECTIONS, target: 0.5, overHttp: true },
      { name: 'gate, in-process store, 1 session on all 8 connections', entry: 'gate', env: inProcessEnv, sessions: 1, overHttp: false },
      { name: 'gate, in-process store, 1 session on all 8, checks coalesced', entry: 'gate', env: { ...inProcessEnv, ...coalesce }, sessions: 1, overHttp: false },
    ];

    const servers: { spec: ServerSpec; url: string; process: Launched; sessions: string[]; totals: Totals }[] = [];
    for (const spec of specs) {
      const port = await freePort();
      const child = await launchProcess(process.execPath, [spec.entry === 'bare' ? bareFile : gateFile], { ...quiet, ...spec.env, PORT: String(port) }, /listening on/);
      launched.push(child);
      const url = `http://127.0.0.1:${port}/mcp`;
      const sessions = await Promise.all(Array.from({ length: spec.sessions }, () => initializeSession(url)));
      await assertEchoes(url, sessions[0]);
      servers.push({ spec, url, process: child, sessions, totals: emptyTotals() });
    }

    for (let r = 0; r < rounds; r++) {
      const order = servers.map((_, i) => servers[(i + r) % servers.length]).filter((s) => s !== undefined);
      for (const server of order) {
        progress(`gate throughput: round ${r + 1}/${rounds}${r < discardedRounds ? ' (warm-up, left out)' : ''}, ${server.spec.name}, ${roundSeconds}s`);
        let next = 0;
        const pids = { server: server.process.child.pid, api: server.spec.overHttp ? api.child.pid : undefined, dynamo: server.spec.env.STORE === 'in-process' || server.spec.overHttp ? context.dynamoPid : undefined };
        const before = { server: treeCpuMs(pids.server), api: treeCpuMs(pids.api), dynamo: treeCpuMs(pids.dynamo), load: process.cpuUsage() };
        const result = await autocannon({
          url: server.url,
          connections: CONNECTIONS,
          duration: roundSeconds,
          requests: [
            {
              method: 'POST',
              headers: BASE_HEADERS,
              body: ECHO_CALL,
              // A pool of sessions (one per connection, or one for all), handed out in turn.
              setupRequest: (request) => {
                const sessionId = server.sessions[next++ % Math.max(1, server.sessions.length)];
                return sessionId === undefined ? request : { ...request, headers: { ...BASE_HEADERS, 'mcp-session-id': sessionId } };
              },
            },
          ],
        });
        const load = process.cpuUsage(before.load);
        if (r < discardedRounds) continue;
        const t = server.totals;
        t.requests += result.requests.total;
        t.errors += result.errors + result.non2xx + result.timeouts;
        t.perRound.push(result.requests.total / roundSeconds);
        t.p50s.push(result.latency.p50);
        t.p99s.push(result.latency.p99);
        t.cpu.server += treeCpuMs(pids.server) - before.server;
        t.cpu.sessionApi += treeCpuMs(pids.api) - before.api;
        t.cpu.dynamodbLocal += treeCpuMs(pids.dynamo) - before.dynamo;
        t.cpu.load += (load.user + load.system) / 1000;
      }
    }

    const bare = servers[0]?.totals.requests ?? 0;
    const rows = servers.map(({ spec, totals: t }): GateThroughputRow => {
      const per = (ms: number) => round(ms / Math.max(1, t.requests), 3);
      const cpu = { server: per(t.cpu.server), sessionApi: per(t.cpu.sessionApi), dynamodbLocal: per(t.cpu.dynamodbLocal), load: per(t.cpu.load) };
      return {
        server: spec.name,
        requestsPerSecond: round(t.requests / (t.perRound.length * roundSeconds), 0),
        roundRange: [round(Math.min(...t.perRound), 0), round(Math.max(...t.perRound), 0)],
        p50Ms: median(t.p50s),
        p99Ms: median(t.p99s),
        ratioToBare: round(t.requests / Math.max(1, bare)),
        target: spec.target,
        errors: t.errors,
        sessions: spec.sessions,
        cpuMsPerCall: { ...cpu, total: round(cpu.server + cpu.sessionApi + cpu.dynamodbLocal + cpu.load, 3) },
      };
    });
    const failed = rows.filter((row) => row.errors > 0);
    if (failed.length > 0) throw new Error(`gate throughput: errors from ${failed.map((row) => `${row.server} (${row.errors})`).join(', ')}`);
    return { connections: CONNECTIONS, roundSeconds, rounds, discardedRounds, checkCacheMaxAgeMs: CACHE_MAX_AGE_MS, rows };
  } finally {
    await Promise.all(launched.reverse().map((child) => child.stop('SIGINT')));
  }
}
