import { GetCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { freePort } from '../../scripts/local/dynamodb-local.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/logger.js';
import { build } from 'esbuild';
import { join } from 'node:path';
import { launchProcess } from '../../scripts/local/launch-ts.js';
import { treeCpuMs } from '../cpu.js';
import { median, progress, round, type BenchContext } from '../support.js';

const SLICES = 4;

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

interface CpuTotals {
  requests: number;
  dynamodbLocalMs: number;
  serverMs: number;
  clientMs: number;
}

const NO_CPU: CpuTotals = { requests: 0, dynamodbLocalMs: 0, serverMs: 0, clientMs: 0 };

/** Runs `work` (which returns the requests it completed), adding what each party spent to `into`. */
async function withCpu(pids: { dynamo?: number; server?: number }, work: () => Promise<number>, into: CpuTotals = NO_CPU): Promise<CpuTotals> {
  const before = { dynamo: treeCpuMs(pids.dynamo), server: treeCpuMs(pids.server), client: process.cpuUsage() };
  const requests = await work();
  const client = process.cpuUsage(before.client);
  return {
    requests: into.requests + requests,
    dynamodbLocalMs: into.dynamodbLocalMs + treeCpuMs(pids.dynamo) - before.dynamo,
    serverMs: into.serverMs + (pids.server ? treeCpuMs(pids.server) - before.server : 0),
    clientMs: into.clientMs + (client.user + client.system) / 1000,
  };
}

function perRequest(totals: CpuTotals): CpuPerRequest {
  const per = (ms: number) => round(ms / Math.max(1, totals.requests), 3);
  const [dynamodbLocal, server, client] = [per(totals.dynamodbLocalMs), per(totals.serverMs), per(totals.clientMs)];
  return { dynamodbLocal, server, client, total: round(dynamodbLocal + server + client, 3) };
}

const NOOP_SERVER = `require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => { r.writeHead(200, { 'content-type': 'application/json' }); r.end('{"active":true}'); }); }).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening on'));`;

/** CPU per request of one HTTP hop (no-op server + load generator) at a given rate and concurrency. */
async function measureHopFloor(port: number, pid: number | undefined, connections: number, rate: number, seconds: number): Promise<HopFloor> {
  const run = await withCpu({ server: pid }, async () => (await autocannon({ url: `http://127.0.0.1:${port}/sessions/x`, connections, duration: seconds, overallRate: Math.max(1, Math.round(rate)) })).requests.total);
  const cpu = perRequest(run);
  return { requestsPerSecond: round(run.requests / seconds, 0), cpuMsPerRequest: round(cpu.server + cpu.client, 3) };
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
  const slice = context.quick ? 1 : 2;
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
      progress(`throughput: ${concurrency} concurrent, ${SLICES} alternating slices of ${slice}s through the local API and of raw GetItem, then the bare HTTP hop`);
      let next = 0;
      const latencies: { p50: number; p99: number }[] = [];
      let errors = 0;
      let apiTotals = NO_CPU;
      let rawTotals = NO_CPU;
      // Alternating short slices: the machine's noisy moments fall on both sides alike.
      for (let i = 0; i < SLICES; i++) {
        apiTotals = await withCpu(
          { dynamo: context.dynamoPid, server: server.child.pid },
          async () => {
            const result = await autocannon({
              url: `http://127.0.0.1:${port}`,
              connections: concurrency,
              duration: slice,
              requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/sessions/${ids[next++ % ids.length]}` }) }],
            });
            latencies.push({ p50: result.latency.p50, p99: result.latency.p99 });
            errors += result.errors + result.non2xx;
            return result.requests.total;
          },
          apiTotals,
        );
        rawTotals = await withCpu({ dynamo: context.dynamoPid }, () => rawRequests(context, table.tableName, ids, concurrency, slice), rawTotals);
      }
      const api = apiTotals.requests / (SLICES * slice);
      const raw = rawTotals.requests / (SLICES * slice);
      const hopFloor = await measureHopFloor(noopPort, noop.child.pid, concurrency, api, slice);
      const rawCpu = perRequest(rawTotals);
      rows.push({
        concurrency,
        apiChecksPerSecond: round(api, 0),
        apiP50Ms: median(latencies.map((l) => l.p50)),
        apiP99Ms: median(latencies.map((l) => l.p99)),
        apiErrors: errors,
        rawGetItemsPerSecond: round(raw, 0),
        ratio: round(api / raw),
        apiCpuMsPerRequest: perRequest(apiTotals),
        rawCpuMsPerRequest: rawCpu,
        hopFloor,
        cpuCeiling: round(rawCpu.total / (rawCpu.total + hopFloor.cpuMsPerRequest)),
      });
    }
  } finally {
    await Promise.all([server.stop('SIGINT'), noop.stop('SIGINT')]);
  }
  return rows;
}
