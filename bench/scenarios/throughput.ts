import { GetCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/logger.js';
import { build } from 'esbuild';
import { join } from 'node:path';
import { launchProcess } from '../../lib/local/launch-ts.js';
import { treeCpuMs } from '../cpu.js';
import { progress, round, type BenchContext } from '../support.js';

const ROOT = join(import.meta.dirname, '..', '..');

export interface CpuPerRequest {
  /** CPU ms per request of DynamoDB Local (Java). */
  dynamodbLocal: number;
  /** The local API server process (HTTP, event, handler, SDK client); 0 for the raw run. */
  server: number;
  /** The bench process: autocannon for the API run, the SDK client for the raw run. */
  client: number;
  total: number;
}

/** What one HTTP hop alone costs here: autocannon against a Node server that answers a constant. */
export interface HopFloor {
  requestsPerSecond: number;
  /** CPU ms per request of the no-op server process plus the load generator. */
  cpuMsPerRequest: number;
}


export interface ThroughputRow {
  concurrency: number;
  apiChecksPerSecond: number;
  apiP50Ms: number;
  apiP99Ms: number;
  apiErrors: number;
  rawGetItemsPerSecond: number;
  ratio: number;
  apiCpuMsPerRequest: CpuPerRequest;
  rawCpuMsPerRequest: CpuPerRequest;
  /** A no-op server driven at the API's rate and concurrency: the CPU an HTTP hop alone costs. */
  hopFloor: HopFloor;
  /** The best ratio the machine allows: raw CPU per check over raw CPU plus the hop's CPU. */
  cpuCeiling: number;
}

const NOOP_SERVER = `require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => { r.writeHead(200, { 'content-type': 'application/json' }); r.end('{"active":true}'); }); }).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on'));`;

/** CPU per request of one HTTP hop (no-op server + load generator) at a given rate and concurrency. */
async function measureHopFloor(port: number, pid: number | undefined, connections: number, rate: number, seconds: number): Promise<HopFloor> {
  const run = await withCpu({ server: pid }, async () => (await autocannon({ url: `http://127.0.0.1:${port}/sessions/x`, connections, duration: seconds, overallRate: Math.max(1, Math.round(rate)) })).requests.total);
  return { requestsPerSecond: round(run.requests / seconds, 0), cpuMsPerRequest: round(run.cpu.server + run.cpu.client, 3) };
}

/** Runs `work`, returning how much CPU each party used per completed request. */
async function withCpu(pids: { dynamo?: number; server?: number }, work: () => Promise<number>): Promise<{ requests: number; cpu: CpuPerRequest }> {
  const before = { dynamo: treeCpuMs(pids.dynamo), server: treeCpuMs(pids.server), client: process.cpuUsage() };
  const requests = await work();
  const client = process.cpuUsage(before.client);
  const per = (ms: number) => round(ms / Math.max(1, requests), 3);
  const dynamodbLocal = per(treeCpuMs(pids.dynamo) - before.dynamo);
  const server = pids.server ? per(treeCpuMs(pids.server) - before.server) : 0;
  const clientMs = per((client.user + client.system) / 1000);
  return { requests, cpu: { dynamodbLocal, server, client: clientMs, total: round(dynamodbLocal + server + clientMs, 3) } };
}

/** Raw SDK GetItem: `concurrency` loops on one client for `seconds`; returns requests completed. */
async function rawRequests(context: BenchContext, tableName: string, ids: string[], concurrency: number, seconds: number): Promise<number> {
  const { client } = context.clientFor(tableName);
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (offset: number) => {
    for (let i = offset; Date.now() < deadline; i += concurrency) {
      await client.send(new GetCommand({ TableName: tableName, Key: { sessionId: ids[i % ids.length] }, ConsistentRead: true }));
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  return done;
}

/**
 * Scenario 4: checks per second through the local HTTP API (the `npm start` server, in its own
 * process) with keep-alive, driven by autocannon, against raw SDK GetItem at the same concurrency.
 */
export async function measureThroughput(context: BenchContext): Promise<ThroughputRow[]> {
  const seconds = context.quick ? 2 : 6;
  const table = await context.newTable('throughput');
  const store = new DynamoSessionStore({ client: table.client, tableName: table.tableName, clock: systemClock, logger: silentLogger });
  const ids = (await Promise.all(Array.from({ length: 100 }, () => store.start()))).map((s) => s.sessionId);

  const port = await freePort();
  // The `npm start` server, bundled and run by plain Node the way Lambda runs the functions; under
  // tsx's loader the same server spends noticeably more CPU per request.
  const serverFile = join(ROOT, 'bench', '.build', 'local-server.mjs');
  await build({ entryPoints: [join(ROOT, 'scripts', 'start-local.ts')], outfile: serverFile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' });
  const server = await launchProcess(process.execPath, [serverFile], { PORT: String(port), DYNAMODB_ENDPOINT: context.endpoint, TABLE_NAME: table.tableName, POWERTOOLS_LOG_LEVEL: 'ERROR' }, /listening on/);
  const noopPort = await freePort();
  const noop = await launchProcess(process.execPath, ['-e', NOOP_SERVER], { PORT: String(noopPort) }, /listening on/);
  const rows: ThroughputRow[] = [];
  try {
    for (const concurrency of [1, 16, 64]) {
      progress(`throughput: ${concurrency} concurrent, ${seconds}s through the local API, ${seconds}s raw GetItem, ${seconds}s no-op HTTP at the API's rate`);
      let next = 0;
      let result: autocannon.Result | undefined;
      const apiRun = await withCpu({ dynamo: context.dynamoPid, server: server.child.pid }, async () => {
        result = await autocannon({
          url: `http://127.0.0.1:${port}`,
          connections: concurrency,
          duration: seconds,
          pipelining: 1,
          requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/sessions/${ids[next++ % ids.length]}` }) }],
        });
        return result.requests.total;
      });
      const rawRun = await withCpu({ dynamo: context.dynamoPid }, () => rawRequests(context, table.tableName, ids, concurrency, seconds));
      if (!result) throw new Error('autocannon gave no result');
      const api = apiRun.requests / seconds;
      const raw = rawRun.requests / seconds;
      const hopFloor = await measureHopFloor(noopPort, noop.child.pid, concurrency, api, seconds);
      rows.push({
        concurrency,
        apiChecksPerSecond: round(api, 0),
        apiP50Ms: result.latency.p50,
        apiP99Ms: result.latency.p99,
        apiErrors: result.errors + result.non2xx,
        rawGetItemsPerSecond: round(raw, 0),
        ratio: round(api / raw),
        apiCpuMsPerRequest: apiRun.cpu,
        rawCpuMsPerRequest: rawRun.cpu,
        hopFloor,
        cpuCeiling: round(rawRun.cpu.total / (rawRun.cpu.total + hopFloor.cpuMsPerRequest)),
      });
    }
  } finally {
    await Promise.all([server.stop('SIGINT'), noop.stop('SIGINT')]);
  }
  return rows;
}
