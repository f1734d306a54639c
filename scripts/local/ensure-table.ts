import { CreateTableCommand, DescribeTableCommand, ResourceNotFoundException, UpdateTimeToLiveCommand, waitUntilTableExists, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createTableInput, sessionTable } from '../../lib/table-schema.js';

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
export async function ensureSessionTable(client: DynamoDBClient, tableName: string, options: EnsureTableOptions = {}): Promise<boolean> {
  const abortSignal = options.signal;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal });
    return false;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await client.send(new CreateTableCommand(createTableInput(tableName)), { abortSignal });
  await waitUntilTableExists({ client, maxWaitTime: 30, abortSignal }, { TableName: tableName });
  if (options.ttl ?? true) {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: sessionTable.expiryAttribute, Enabled: true },
      }),
      { abortSignal },
    );
  }
  return true;
}
