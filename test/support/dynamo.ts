import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { writeItems } from '../../scripts/local/write-items.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createDynamoClient, documentClient, type DynamoClientOptions } from '../../lib/dynamodb-client.js';
import { ensureSessionTable, ensureStreamsTable } from '../../scripts/local/ensure-table.js';
import { DynamoSessionStore, type DynamoSessionStoreOptions } from '../../lib/dynamo-session-store.js';
import { DynamoSessionStreams, type DynamoSessionStreamsOptions } from '../../lib/dynamo-session-streams.js';
import { countRequests, type RequestCounts } from '../../scripts/local/request-counter.js';
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
  const raw = lenientClient();
  await ensureSessionTable(raw, tableName, { ttl: options.ttl ?? false });
  return { tableName, raw, client: documentClient(raw) };
}

/** A fresh session streams table in the shared DynamoDB Local; TTL off unless asked for, as for createTestTable. */
export async function createStreamsTestTable(prefix: string, options: { ttl?: boolean } = {}): Promise<TestTable> {
  const tableName = `${prefix}-streams-${randomUUID().slice(0, 8)}`;
  const raw = lenientClient();
  await ensureStreamsTable(raw, tableName, { ttl: options.ttl ?? false });
  return { tableName, raw, client: documentClient(raw) };
}

/** A client to the test DynamoDB Local with the production timeouts (lib/deadline-budget.ts), unless overridden. */
export const localClient = (options: DynamoClientOptions = {}): DynamoDBClient => createDynamoClient({ endpoint: endpoint(), ...options });

/**
 * Timeouts for tests about behaviour rather than deadlines: on a loaded 2-core machine (a whole
 * suite, Java's GC, 100 concurrent starts) a DynamoDB Local answer can take longer than production's
 * one-second attempt, and a test of, say, slides must not fail on that. Deadline tests use the
 * production values (`localClient`, the store's default deadlines).
 */
const LENIENT = { connectionTimeoutMs: 10_000, requestTimeoutMs: 30_000, deadlineMs: 60_000, sweepDeadlineMs: 30_000 } as const;

export const lenientClient = (options: DynamoClientOptions = {}): DynamoDBClient =>
  localClient({ connectionTimeoutMs: LENIENT.connectionTimeoutMs, requestTimeoutMs: LENIENT.requestTimeoutMs, ...options });

export interface StoreFixture {
  store: DynamoSessionStore;
  clock: ManualClock;
  logger: CapturingLogger;
  /** Requests the store's own client sent. */
  requests: RequestCounts;
  raw: DynamoDBClient;
}

/** A store on its own client (so its requests can be counted) over the given table. */
export interface StoreFixtureOptions extends Pick<DynamoSessionStoreOptions, 'ttlSeconds' | 'maxLifetimeSeconds' | 'pruneScanLimit' | 'generateId' | 'events' | 'deadlineMs' | 'sweepDeadlineMs'> {
  clock?: ManualClock;
  /** The client the store sends with; a fresh one to DynamoDB Local when absent. */
  raw?: DynamoDBClient;
}

/**
 * A store on its own client. Without `raw`, the fixture picks lenient timeouts and deadlines (tests
 * of behaviour); with `raw` (a fault test's client), the store keeps its production deadlines.
 */
export function storeOn(table: TestTable, options: StoreFixtureOptions = {}): StoreFixture {
  const { raw = lenientClient(), clock = new ManualClock(), ...rest } = options;
  const deadlines = options.raw ? {} : { deadlineMs: LENIENT.deadlineMs, sweepDeadlineMs: LENIENT.sweepDeadlineMs };
  const logger = new CapturingLogger();
  const requests = countRequests(raw);
  const store = new DynamoSessionStore({ ...deadlines, ...rest, tableName: table.tableName, logger, client: documentClient(raw), clock: clock.now });
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

export interface StreamsFixture {
  streams: DynamoSessionStreams;
  clock: ManualClock;
  logger: CapturingLogger;
  /** Requests the streams' own client sent. */
  requests: RequestCounts;
  raw: DynamoDBClient;
}

export interface StreamsFixtureOptions extends Pick<DynamoSessionStreamsOptions, 'retentionSeconds' | 'deadlineMs' | 'seqCacheSize' | 'appendAttempts'> {
  clock?: ManualClock;
  raw?: DynamoDBClient;
}

/** Session streams on their own client over the given streams table; lenient deadlines unless `raw` is given, as storeOn. */
export function streamsOn(table: TestTable, options: StreamsFixtureOptions = {}): StreamsFixture {
  const { raw = lenientClient(), clock = new ManualClock(), ...rest } = options;
  const deadlines = options.raw ? {} : { deadlineMs: LENIENT.deadlineMs };
  const logger = new CapturingLogger();
  const requests = countRequests(raw);
  const streams = new DynamoSessionStreams({ ...deadlines, ...rest, tableName: table.tableName, logger, client: documentClient(raw), clock: clock.now });
  return { streams, clock, logger, requests, raw };
}
