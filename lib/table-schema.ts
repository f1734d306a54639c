import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one description of the sessions table. The CDK stack and the local/test table creation both
 * read it, so the deployed table and the one tests run against cannot drift apart.
 */
export const sessionTable = {
  partitionKey: 'sessionId',
  /** Epoch seconds; the table's TTL attribute. */
  expiryAttribute: 'expiresAt',
  createdAttribute: 'createdAt',
  /** The principal the session is bound to, when started with one. */
  ownerAttribute: 'owner',
  /** JSON text, not a map: it round-trips exactly and its size is what start measured. */
  metadataAttribute: 'metadata',
  /** The session's MCP log level (S), set by updateState. */
  logLevelAttribute: 'logLevel',
  /** The session's resource subscriptions, a String Set (absent when empty: DynamoDB has no empty sets). */
  subscriptionsAttribute: 'subscriptions',
} as const;

/** CreateTable input matching the stack's table: string partition key only, on-demand billing. */
export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  AttributeDefinitions: [{ AttributeName: sessionTable.partitionKey, AttributeType: 'S' }],
  KeySchema: [{ AttributeName: sessionTable.partitionKey, KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
});

/**
 * The one description of the session streams table (lib/session-streams.ts). A table of its own:
 * the sessions table's key schema (partition key only) cannot change without replacing it.
 * One item per message; a stream's messages share the partition of their session and sort by
 * `<streamId>#<seq, zero-padded>`, so one Query with BETWEEN reads a stream in order.
 */
export const streamsTable = {
  partitionKey: 'sessionId',
  sortKey: 'stream',
  /** The message as JSON text. */
  messageAttribute: 'message',
  /** Epoch seconds; the table's TTL attribute. */
  expiryAttribute: 'expiresAt',
  /** Between the stream id and the sequence number; stream ids never contain it. */
  separator: '#',
  /** Sequence numbers are zero-padded to this many digits, so they sort as numbers. */
  seqDigits: 12,
} as const;

/** CreateTable input for the streams table: string partition and sort keys, on-demand billing. */
export const createStreamsTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  AttributeDefinitions: [
    { AttributeName: streamsTable.partitionKey, AttributeType: 'S' },
    { AttributeName: streamsTable.sortKey, AttributeType: 'S' },
  ],
  KeySchema: [
    { AttributeName: streamsTable.partitionKey, KeyType: 'HASH' },
    { AttributeName: streamsTable.sortKey, KeyType: 'RANGE' },
  ],
  BillingMode: 'PAY_PER_REQUEST',
});
