import { GetCommand } from '@aws-sdk/lib-dynamodb';
import autocannon from 'autocannon';
import { freePort } from '../../lib/local/dynamodb-local.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { systemClock } from '../../lib/clock.js';
import { silentLogger } from '../../lib/logger.js';
import { launchTs } from '../../lib/local/launch-ts.js';
import { progress, round, type BenchContext } from '../support.js';

export interface ThroughputRow {
  concurrency: number;
  apiChecksPerSecond: number;
  apiP50Ms: number;
  apiP99Ms: number;
  apiErrors: number;
  rawGetItemsPerSecond: number;
  ratio: number;
}

/** Raw SDK GetItem throughput: `concurrency` loops on one client for `seconds`. */
async function rawThroughput(context: BenchContext, tableName: string, ids: string[], concurrency: number, seconds: number): Promise<number> {
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
  return done / seconds;
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
  const server = await launchTs('scripts/start-local.ts', { PORT: String(port), DYNAMODB_ENDPOINT: context.endpoint, TABLE_NAME: table.tableName, POWERTOOLS_LOG_LEVEL: 'ERROR' }, /listening on/);
  const rows: ThroughputRow[] = [];
  try {
    for (const concurrency of [1, 16, 64]) {
      progress(`throughput: ${concurrency} concurrent, ${seconds}s through the local API, then ${seconds}s raw GetItem`);
      let next = 0;
      const result = await autocannon({
        url: `http://127.0.0.1:${port}`,
        connections: concurrency,
        duration: seconds,
        pipelining: 1,
        requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/sessions/${ids[next++ % ids.length]}` }) }],
      });
      const raw = await rawThroughput(context, table.tableName, ids, concurrency, seconds);
      const api = result.requests.average;
      rows.push({
        concurrency,
        apiChecksPerSecond: round(api, 0),
        apiP50Ms: result.latency.p50,
        apiP99Ms: result.latency.p99,
        apiErrors: result.errors + result.non2xx,
        rawGetItemsPerSecond: round(raw, 0),
        ratio: round(api / raw),
      });
    }
  } finally {
    await server.stop('SIGINT');
  }
  return rows;
}
