import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, UpdateTimeToLiveCommand, waitUntilTableExists, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createStreamsTableInput, createTableInput, sessionTable, streamsTable } from '../../lib/table-schema.js';

export interface EnsureTableOptions {
  /**
   * Turn DynamoDB TTL on, as the stack does. Tests that need expired items to linger turn it off:
   * DynamoDB Local really deletes expired items about 10 s after they expire.
   */
  ttl?: boolean;
  /** Gives up (the SDK throws an AbortError) when this aborts: a deadline for the whole setup. */
  signal?: AbortSignal;
}

/** Creates the sessions table (same schema as the stack) unless it exists. Returns true if it created it. */
export const ensureSessionTable = (client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<boolean> =>
  ensureTable(client, createTableInput(tableName), sessionTable.expiryAttribute, options);

/** Creates the session streams table (same schema as the stack) unless it exists. Returns true if it created it. */
export const ensureStreamsTable = (client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<boolean> =>
  ensureTable(client, createStreamsTableInput(tableName), streamsTable.expiryAttribute, options);

async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput, ttlAttribute: string, options: EnsureTableOptions): Promise<boolean> {
  const abortSignal = options.signal;
  const tableName = input.TableName;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal });
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(input), { abortSignal });
  await waitUntilTableExists({ client, maxWaitTime: 30, abortSignal }, { TableName: tableName });
  if (options.ttl ?? true) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
      { abortSignal },
    );
  }
  return true;
}
