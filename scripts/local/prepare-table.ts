import { deadlineSignal } from '../../lib/deadline-budget.js';
import { createDynamoClient } from '../../lib/dynamodb-client.js';
import { ensureSessionTable, ensureStreamsTable } from './ensure-table.js';

/**
 * `npm start`'s whole table setup (describe, and create if missing) must finish within this: the
 * SDK's own timeouts end a dead or hung endpoint sooner, this bounds everything else.
 */
export const TABLE_SETUP_DEADLINE_MS = 10_000;

/**
 * One setup request's limit. Longer than the service's per-attempt 1 s: a cold DynamoDB Local on a
 * busy machine can take seconds over its first CreateTable, and a slow start is not a broken one.
 */
export const TABLE_SETUP_ATTEMPT_TIMEOUT_MS = 4000;

/** DynamoDB at `endpoint` could not be used; the message names it and says what to check. */
export class DynamoDbUnusableError extends Error {
  override readonly name = 'DynamoDbUnusableError';
}

/**
 * Creates the sessions table unless it exists (and the streams table, when named), or fails within
 * the deadline with a message that names DynamoDB and the endpoint: never hangs on an endpoint that
 * accepts and never answers. True when it created the sessions table.
 */
export async function prepareTable(endpoint: string, tableName: string, deadlineMs = TABLE_SETUP_DEADLINE_MS, streamsTableName?: string): Promise<boolean> {
  const client = createDynamoClient({ endpoint, requestTimeoutMs: TABLE_SETUP_ATTEMPT_TIMEOUT_MS });
  const signal = deadlineSignal(deadlineMs);
  try {
    const created = await ensureSessionTable(client, tableName, { signal });
    if (streamsTableName !== undefined) await ensureStreamsTable(client, streamsTableName, { signal });
    return created;
  } catch (error) {
    const why = signal.aborted ? `no answer within ${deadlineMs / 1000} s` : describeFailure(error);
    throw new DynamoDbUnusableError(`DynamoDB at ${endpoint} cannot be used: ${why}.`, { cause: error });
  } finally {
    client.destroy();
  }
}

function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'no answer in time';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined && error.name === 'SyntaxError') return `it answered HTTP ${status}, but not as DynamoDB does`;
  if (status !== undefined) return `it answered HTTP ${status} (${error.name})`;
  return `${error.name}${code ? ` ${code}` : ''}`;
}
