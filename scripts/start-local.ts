/**
 * `npm start`: the whole service on this machine. Starts DynamoDB Local with its data on disk in
 * .data/ (unless DYNAMODB_ENDPOINT points at one already), creates the table if missing, and serves
 * the three Lambda handlers on http://127.0.0.1:${PORT:-3000}.
 */
import { join } from 'node:path';
import { loadConfig } from '../lib/config.js';
import { createDynamoClient } from '../lib/dynamodb-client.js';
import { startLocalApi } from '../lib/local/api-server.js';
import { startDynamoDbLocal, type DynamoDbLocal } from '../lib/local/dynamodb-local.js';
import { ensureSessionTable } from '../lib/local/ensure-table.js';
import { importHandlers } from '../lib/local/handlers.js';

const DATA_DIR = process.env.MCP_SESSIONS_DATA_DIR || join(import.meta.dirname, '..', '.data', 'dynamodb');

async function main(): Promise<void> {
  process.env.TABLE_NAME ||= 'mcp-sessions';
  // Request logs stay on (JSON, one line per request); metric blobs only matter in CloudWatch.
  process.env.POWERTOOLS_METRICS_DISABLED ||= 'true';
  const port = Number(process.env.PORT || 3000);

  let dynamo: DynamoDbLocal | undefined;
  if (!process.env.DYNAMODB_ENDPOINT) {
    dynamo = await startDynamoDbLocal({ dbPath: DATA_DIR });
    process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
    console.log(`DynamoDB Local ${dynamo.endpoint} (data in ${DATA_DIR})`);
  }
  const config = loadConfig(process.env);
  const created = await ensureSessionTable(createDynamoClient({ endpoint: config.dynamodbEndpoint }), config.tableName);
  console.log(`table ${config.tableName} ${created ? 'created' : 'found'}; TTL ${config.ttlSeconds}s, prune scan limit ${config.pruneScanLimit}`);

  const api = await startLocalApi(await importHandlers(), { port });
  console.log(`
mcp-sessions listening on ${api.url}

  curl -i -X POST ${api.url}/sessions
  curl -i ${api.url}/sessions/<sessionId>
  curl -i -X DELETE ${api.url}/sessions/<sessionId>

Ctrl-C stops the server and DynamoDB Local; sessions are kept on disk.`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping`);
    await api.close();
    await dynamo?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
