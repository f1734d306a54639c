import { startLocalApi, type LocalApi } from '../../scripts/local/api-server.js';
import { importHandlers } from '../../scripts/local/handlers.js';
import { createTestTable, endpoint } from './dynamo.js';

/** The local API over the real handler modules (configured from the environment, as in Lambda), on a fresh table. */
export async function localApiOverRealHandlers(tablePrefix: string): Promise<LocalApi> {
  const table = await createTestTable(tablePrefix);
  process.env.TABLE_NAME = table.tableName;
  process.env.DYNAMODB_ENDPOINT = endpoint();
  return startLocalApi(await importHandlers(), { port: 0 });
}
