import { startLocalApi, type LocalApi } from '../../scripts/local/api-server.js';
import { importHandlers } from '../../scripts/local/handlers.js';
import { createStreamsTestTable, createTestTable, endpoint } from './dynamo.js';

/**
 * The local API over the real handler modules (configured from the environment, as in Lambda), on a
 * fresh sessions table and a fresh streams table. The modules are imported once per test file
 * (vitest isolates files), so a file calls this once.
 */
export async function localApiOverRealHandlers(tablePrefix: string): Promise<LocalApi> {
  const [table, streams] = await Promise.all([createTestTable(tablePrefix), createStreamsTestTable(tablePrefix)]);
  process.env.TABLE_NAME = table.tableName;
  process.env.STREAMS_TABLE_NAME = streams.tableName;
  process.env.DYNAMODB_ENDPOINT = endpoint();
  return startLocalApi(await importHandlers(), { port: 0 });
}
