import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

export interface DynamoClientOptions {
  /** A DynamoDB Local URL; absent in AWS, where the region's endpoint is used. */
  endpoint?: string;
  region?: string;
  /** Attempts per call including the first, with the SDK's standard jittered backoff. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

/**
 * Timeouts are short on purpose: a GetItem answers in milliseconds, so a request still open after
 * two seconds is lost, and the caller is better served by a 503 it can retry than by a Lambda that
 * hangs until API Gateway cuts it off at 30 s. Three attempts stay well inside the function timeout.
 */
export function createDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined;
  return new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? (local ? 'us-east-1' : undefined),
    // DynamoDB Local accepts any credentials; don't make local users configure AWS.
    credentials: local && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 1000,
      requestTimeout: options.requestTimeoutMs ?? 2000,
      // Reused connections skip the TLS handshake; 50 sockets is the SDK's own default cap.
      httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
    }),
  });
}

/** The document client the store uses, over a client from createDynamoClient. */
export const documentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
