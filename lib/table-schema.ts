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
} as const;

/** CreateTable input matching the stack's table: string partition key only, on-demand billing. */
export const createTableInput = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  AttributeDefinitions: [{ AttributeName: sessionTable.partitionKey, AttributeType: 'S' }],
  KeySchema: [{ AttributeName: sessionTable.partitionKey, KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
});
