/**
 * `npm start`: the whole service on this machine. Starts DynamoDB Local with its data on disk in
 * .data/ (unless DYNAMODB_ENDPOINT points at one already), creates the sessions and streams tables
 * if missing, and serves the Lambda handlers on http://127.0.0.1:${PORT:-3000}. Both listen on
 * loopback only.
 *
 * It never leaves DynamoDB Local running behind it: settings are checked before Java starts, any
 * later failure stops Java before exiting, and Java exits by itself if this process is killed.
 */
import { join } from 'node:path';
import { loadConfig, loadStreamsConfig } from '../lib/config.js';
import { startLocalApi, type LocalApi } from './local/api-server.js';
import { startDynamoDbLocal, type DynamoDbLocal, type ProcessExit } from './local/dynamodb-local.js';
import { importHandlers } from './local/handlers.js';
import { assertPortFree, parsePort, portError } from './local/port-setting.js';
import { prepareTable } from './local/prepare-table.js';

const DATA_DIR = process.env.MCP_SESSIONS_DATA_DIR || join(import.meta.dirname, '..', '.data', 'dynamodb');
const API_HOST = '127.0.0.1';

let dynamo: DynamoDbLocal | undefined;
let api: LocalApi | undefined;
let stopping = false;

/** Stops the server and DynamoDB Local, then exits; a second call (Ctrl-C again) exits at once. */
async function shutdown(code: number, message?: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (message) (code === 0 ? console.log : console.error)(message);
    await api?.close();
    await dynamo?.stop();
  }
  // Exiting also stops a DynamoDB Local still starting up (scripts/local/dynamodb-local.ts kills it on exit).
  return process.exit(code);
}

async function main(): Promise<void> {
  process.env.TABLE_NAME ||= 'mcp-sessions';
  // The handlers read their settings from this process's environment, as they would in Lambda.
  process.env.STREAMS_TABLE_NAME ||= 'mcp-sessions-streams';
  // Request logs stay on (JSON, one line per request); metric blobs only matter in CloudWatch.
  process.env.POWERTOOLS_METRICS_DISABLED ||= 'true';
  // Everything checkable is checked before Java starts: a typo costs nothing and leaves nothing behind.
  const port = parsePort(process.env.PORT);
  loadConfig(process.env);
  loadStreamsConfig(process.env);
  await assertPortFree(port, API_HOST);

  const given = Boolean(process.env.DYNAMODB_ENDPOINT);
  if (!given) {
    dynamo = await startDynamoDbLocal({ dbPath: DATA_DIR });
    process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
    console.log(`DynamoDB Local ${dynamo.endpoint} (pid ${dynamo.pid}; data in ${DATA_DIR})`);
    void dynamo.exited.then((exit) => {
      if (!stopping) void shutdown(1, `DynamoDB Local stopped unexpectedly (${describeExit(exit)}); stopping. Sessions are kept on disk: run npm start again.`);
    });
  }
  const config = loadConfig(process.env);
  const endpoint = config.dynamodbEndpoint ?? '';
  const streams = loadStreamsConfig(process.env);
  const created = await prepareTable(endpoint, config.tableName, undefined, streams.streamsTableName).catch((error: unknown) => {
    if (!given || !(error instanceof Error)) throw error;
    throw new Error(`${error.message} Check DYNAMODB_ENDPOINT, or unset it and npm start runs its own DynamoDB Local.`, { cause: error });
  });
  console.log(`table ${config.tableName} ${created ? 'created' : 'found'}; TTL ${config.ttlSeconds}s, prune scan limit ${config.pruneScanLimit}`);

  const handlers = await importHandlers();
  api = await startLocalApi(handlers, { port, host: API_HOST }).catch((error: NodeJS.ErrnoException) => {
    throw error.code ? portError(port, API_HOST, error) : error;
  });
  console.log(`
mcp-sessions listening on ${api.url}

  curl -i -X POST ${api.url}/sessions
  curl -i ${api.url}/sessions/<sessionId>
  curl -i -X DELETE ${api.url}/sessions/<sessionId>

Ctrl-C stops the server and DynamoDB Local; sessions are kept on disk.`);
}

const describeExit = (exit: ProcessExit): string => (exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`);

process.on('SIGINT', () => void shutdown(0, '\nSIGINT: stopping'));
process.on('SIGTERM', () => void shutdown(0, '\nSIGTERM: stopping'));
process.on('SIGHUP', () => void shutdown(0, '\nSIGHUP: stopping'));

// Whatever started us (tsx, npm) killed without a chance to signal us: we are reparented, so stop
// too rather than serve on as an orphan.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(1, 'npm start: the process that started this one is gone; stopping.');
}, 1000).unref();

main().catch((error: unknown) => shutdown(1, `npm start failed: ${error instanceof Error ? error.message : String(error)}`));
