/**
 * `npm run bench [-- --quick] [-- --only=prune,overhead]`: measures the service on DynamoDB Local
 * (in memory, started here unless DYNAMODB_ENDPOINT is set), prints a table per scenario and writes
 * every figure to bench/results/latest.json. Timings live here, never in the test suite.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, type as osType, release } from 'node:os';
import { join } from 'node:path';
import { startDynamoDbLocal } from '../scripts/local/dynamodb-local.js';
import { measureColdStart } from './scenarios/cold-start.js';
import { measureGateRequestCounts } from './scenarios/gate-request-counts.js';
import { measureGateThroughput } from './scenarios/gate-throughput.js';
import { measureMcpCosts } from './scenarios/mcp-costs.js';
import { measureOverhead } from './scenarios/overhead.js';
import { measurePrune, type PruneRow } from './scenarios/prune.js';
import { measureRequestCounts } from './scenarios/request-counts.js';
import { measureThroughput } from './scenarios/throughput.js';
import { benchContext, printTable, round, type BenchContext } from './support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');

const scenarios: Record<string, (context: BenchContext) => Promise<unknown>> = {
  requests: async (context) => {
    const table = await context.newTable('requests');
    const result = await measureRequestCounts(table.raw, table.tableName, { checks: 10_000 });
    printTable(
      '1. DynamoDB requests per operation (SDK middleware; capacity as DynamoDB Local reports it)',
      ['operation', 'requests', 'commands', 'capacity units'],
      result.operations.map((o) => [o.operation, o.requests, Object.entries(o.byCommand).map(([c, n]) => `${c.replace('Command', '')}×${n}`).join(' ') || '—', round(o.capacityUnits, 1)]),
    );
    printTable(
      '   Steady state: 100 sessions, 10,000 checks, 1 h TTL',
      ['checks spread over', 'requests', 'slides', 'requests per check'],
      result.steady.map((s) => [`${s.spreadSeconds / 60} min`, s.requests, s.slides, s.requestsPerCheck.toFixed(2)]),
    );
    return result;
  },
  prune: async (context) => {
    const result = await measurePrune(context);
    const size = (r: PruneRow) => `${r.tableSize.toLocaleString('en')} (${r.expiredPercent} % expired)`;
    printTable(
      '2. Prune cost per start vs table size (PRUNE_SCAN_LIMIT 100) — ours vs the seed (full scan every start)',
      ['table size', 'ours: items scanned/start', 'ours: capacity/start', 'ours: starts to clear expired', 'expired left', 'seed: items scanned/start', 'seed: capacity/start'],
      result.rows.map((r) => [
        size(r),
        round(r.ours.itemsScannedPerStart, 1),
        round(r.ours.capacityPerStart, 1),
        r.ours.startsToRemoveAllExpired,
        r.ours.expiredLeftAfterOneLap,
        round(r.baselineItemsScannedPerStart, 0).toLocaleString('en'),
        round(r.baselineCapacityPerStart, 1).toLocaleString('en'),
      ]),
    );
    const sizes = result.rows.filter((r) => r.expiredPercent === 10).map((r) => r.tableSize.toLocaleString('en'));
    console.log(`\n   items scanned per start, ${sizes.at(-1)} / ${sizes[0]}: ours ${result.oursRatio.toFixed(2)} (target ≤ 1.2), seed ${result.baselineRatio.toFixed(1)}`);
    printTable(
      '   Deleting what the page found, per start (put + Scan page + deletes): conditional DeleteItem (now) vs unconditional BatchWriteItem (before issue 8)',
      ['table size', 'deleted/start', 'DeleteItem: requests/start', 'DeleteItem: capacity/start', 'expired left', 'BatchWriteItem: requests/start', 'BatchWriteItem: capacity/start', 'expired left'],
      result.rows.map((r) => [
        size(r),
        round(r.ours.deletedPerStart, 1),
        round(r.ours.requestsPerStart, 1),
        round(r.ours.capacityPerStart, 1),
        r.ours.expiredLeftAfterOneLap,
        round(r.unconditionalBatch.requestsPerStart, 1),
        round(r.unconditionalBatch.capacityPerStart, 1),
        r.unconditionalBatch.expiredLeftAfterOneLap,
      ]),
    );
    return result;
  },
  overhead: async (context) => {
    const rows = await measureOverhead(context);
    printTable(
      '3. Handler overhead over the bare SDK call (in process, same client, interleaved)',
      ['handler', 'bare call', 'pairs', 'p50 handler ms', 'p50 bare ms', 'p50 ratio', 'target', 'p99 handler ms', 'p99 bare ms', 'p99 ratio'],
      rows.map((r) => [r.operation, r.rawCall, r.iterations, r.handlerP50Ms, r.rawP50Ms, r.ratioP50, `≤ ${r.targetP50}`, r.handlerP99Ms, r.rawP99Ms, r.ratioP99]),
    );
    return rows;
  },
  throughput: async (context) => {
    const rows = await measureThroughput(context);
    printTable(
      '4. Checks per second through the local HTTP API (autocannon, keep-alive) vs raw SDK GetItem',
      ['concurrency', 'API checks/s', 'API p50 ms', 'API p99 ms', 'errors', 'raw GetItem/s', 'ratio', 'CPU ms/req API (java+server+load)', 'CPU ms/req raw (java+client)', 'CPU ms/req HTTP hop', 'CPU ceiling'],
      rows.map((r) => [
        r.concurrency,
        r.apiChecksPerSecond,
        r.apiP50Ms,
        r.apiP99Ms,
        r.apiErrors,
        r.rawGetItemsPerSecond,
        r.ratio,
        `${r.apiCpuMsPerRequest.total} (${r.apiCpuMsPerRequest.dynamodbLocal}+${r.apiCpuMsPerRequest.server}+${r.apiCpuMsPerRequest.client})`,
        `${r.rawCpuMsPerRequest.total} (${r.rawCpuMsPerRequest.dynamodbLocal}+${r.rawCpuMsPerRequest.client})`,
        r.hopFloor.cpuMsPerRequest,
        r.cpuCeiling,
      ]),
    );
    console.log(
      '\n   HTTP hop = autocannon against a no-op Node server at the same rate and concurrency; CPU ceiling = raw CPU per check /' +
        ' (raw CPU per check + hop CPU): the ratio a server adding nothing but the hop would reach on this machine.',
    );
    return rows;
  },
  coldStart: async (context) => {
    const rows = await measureColdStart(context);
    printTable(
      '5. Cold start: minified bundles and module-initialisation time in a fresh Node process (median)',
      ['bundle', 'AWS SDK', 'size KB', 'init ms', 'over empty ms', 'runs'],
      rows.map((r) => [r.bundle, r.awsSdk, r.sizeKb, r.initMedianMs, r.initOverEmptyMs, r.runs]),
    );
    return rows;
  },
  gateRequests: async (context) => {
    const table = await context.newTable('gate-requests');
    const rows = await measureGateRequestCounts(table.raw, table.tableName);
    printTable(
      '6. DynamoDB requests per MCP request through the session gate, in-process store (SDK middleware)',
      ['MCP request', 'sent', 'DynamoDB requests', 'commands'],
      rows.map((r) => [r.request, r.mcpRequests, r.dynamodbRequests, Object.entries(r.byCommand).map(([c, n]) => `${c.replace('Command', '')}×${n}`).join(' ') || '—']),
    );
    return rows;
  },
  gate: async (context) => {
    const result = await measureGateThroughput(context);
    printTable(
      `7. MCP tools/call (echo) through the session gate vs the bare stateless SDK server (autocannon, ${result.connections} connections, ${result.rounds - result.discardedRounds} interleaved ${result.roundSeconds} s rounds kept of ${result.rounds}; built JS on plain Node)`,
      ['server', 'sessions', 'calls/s', 'rounds', 'p50 ms', 'p99 ms', 'vs bare', 'target', 'errors', 'CPU ms/call (server+API+java+load)'],
      result.rows.map((r) => [
        r.server,
        r.sessions || '—',
        r.requestsPerSecond,
        `${r.roundRange[0]}–${r.roundRange[1]}`,
        r.p50Ms,
        r.p99Ms,
        r.ratioToBare,
        r.target === undefined ? '—' : `≥ ${r.target}`,
        r.errors,
        `${r.cpuMsPerCall.total} (${r.cpuMsPerCall.server}+${r.cpuMsPerCall.sessionApi}+${r.cpuMsPerCall.dynamodbLocal}+${r.cpuMsPerCall.load})`,
      ]),
    );
    return result;
  },
  mcpCosts: async (context) => {
    const result = await measureMcpCosts(context);
    const commands = (byInstance: Record<string, Record<string, number>>) =>
      Object.entries(byInstance)
        .map(([instance, byCommand]) => `${instance}: ${Object.entries(byCommand).map(([c, n]) => `${c.replace('Command', '')}×${n}`).join(' ') || '—'}`)
        .join(' · ');
    printTable(
      '8. DynamoDB requests of MCP operations, sharedSessionHandler on two instances (A, B) behind the session gate, default timings (SDK middleware)',
      ['operation', 'requests', 'commands', 'requests/s'],
      result.rows.map((r) => [r.operation, r.requests, commands(r.byInstance), r.requestsPerSecond === undefined ? '—' : `${r.requestsPerSecond} (over ${r.windowSeconds} s)`]),
    );
    console.log(
      `\n   Per event: (the ${result.events}-event call − the 0-event call) / ${result.events}. Idle rows: counted after the stream settled` +
        ' (the resumed one from half an interval after a heartbeat); 1-3 refuse the standalone GET so its polls are not counted.',
    );
    return result;
  },
};

async function main(): Promise<void> {
  const started = Date.now();
  const given = process.env.DYNAMODB_ENDPOINT;
  const dynamo = given ? undefined : await startDynamoDbLocal();
  const endpoint = given ?? dynamo?.endpoint ?? '';
  const cpu = cpus()[0]?.model ?? 'unknown';
  console.log(`mcp-sessions benchmark${quick ? ' (quick)' : ''}: DynamoDB Local ${given ? `at ${given}` : '(in memory, started by the bench)'}; ${cpus().length} × ${cpu}, ${round(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`);
  const context = benchContext(endpoint, quick, dynamo?.pid);
  const results: Record<string, unknown> = {};
  try {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (only && !only.includes(name)) continue;
      process.stderr.write(`\n▶ ${name}\n`);
      results[name] = await scenario(context);
    }
  } finally {
    await dynamo?.stop();
  }
  const seconds = round((Date.now() - started) / 1000, 1);
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`,
    quick,
    machine: { cpus: cpus().length, cpu, memoryGiB: round(totalmem() / 2 ** 30, 0), os: `${osType()} ${release()}`, node: process.version },
    durationSeconds: seconds,
    results,
  };
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nDone in ${seconds} s; figures in bench/results/latest.json`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
