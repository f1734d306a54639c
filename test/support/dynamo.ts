import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeItems } from '../../lib/local/write-items.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDynamoClient, documentClient, type DynamoClientOptions } from '../../lib/dynamodb-client.js';
import { ensureSessionTable } from '../../lib/local/ensure-table.js';
import { DynamoSessionStore, type DynamoSessionStoreOptions } from '../../lib/dynamo-session-store.js';
import { countRequests, type RequestCounts } from '../../lib/request-counter.js';
import { sessionTable } from '../../lib/table-schema.js';
import { CapturingLogger, ManualClock } from './fakes.js';

export const endpoint = (): string => inject('dynamodbEndpoint');

export interface TestTable {
  tableName: string;
  raw: DynamoDBClient;
  client: DynamoDBDocumentClient;
}

/**
 * A fresh table in the shared DynamoDB Local. TTL is off unless asked for: DynamoDB Local really
 * deletes expired items about 10 s after expiry, which would make "expired but present" flaky.
 */
export async function createTestTable(prefix: string, options: { ttl?: boolean } = {}): Promise<TestTable> {
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  const raw = localClient();
  await ensureSessionTable(raw, tableName, { ttl: options.ttl ?? false });
  return { tableName, raw, client: documentClient(raw) };
}

export const localClient = (options: DynamoClientOptions = {}): DynamoDBClient => createDynamoClient({ endpoint: endpoint(), ...options });

export interface StoreFixture {
  store: DynamoSessionStore;
  clock: ManualClock;
  logger: CapturingLogger;
  /** Requests the store's own client sent. */
  requests: RequestCounts;
  raw: DynamoDBClient;
}

/** A store on its own client (so its requests can be counted) over the given table. */
export interface StoreFixtureOptions extends Pick<DynamoSessionStoreOptions, 'ttlSeconds' | 'maxLifetimeSeconds' | 'pruneScanLimit' | 'generateId' | 'events'> {
  clock?: ManualClock;
  /** The client the store sends with; a fresh one to DynamoDB Local when absent. */
  raw?: DynamoDBClient;
}

export function storeOn(table: TestTable, options: StoreFixtureOptions = {}): StoreFixture {
  const { raw = localClient(), clock = new ManualClock(), ...rest } = options;
  const logger = new CapturingLogger();
  const requests = countRequests(raw);
  const store = new DynamoSessionStore({ ...rest, tableName: table.tableName, logger, client: documentClient(raw), clock: clock.now });
  return { store, clock, logger, requests, raw };
}

export async function readItem(table: TestTable, sessionId: string): Promise<Record<string, unknown> | undefined> {
  const result = await table.client.send(
    new GetCommand({ TableName: table.tableName, Key: { [sessionTable.partitionKey]: sessionId }, ConsistentRead: true }),
  );
  return result.Item;
}

/** Writes items straight into the table, 25 per request, for seeding large tables. */
export const seedItems = (table: TestTable, items: Record<string, unknown>[]): Promise<void> => writeItems(table.client, table.tableName, items);
