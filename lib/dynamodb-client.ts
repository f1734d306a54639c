import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DEADLINE_BUDGET } from './deadline-budget.js';

export interface DynamoClientOptions {
  /** A DynamoDB Local URL; absent in AWS, where the region's endpoint is used. */
  endpoint?: string;
  region?: string;
  /** Attempts per call including the first, with the SDK's standard jittered backoff. */
  maxAttempts?: number;
  connectionTimeoutMs?: number;
  /** The whole of one attempt, request and response. */
  requestTimeoutMs?: number;
}

/**
 * Timeouts are short on purpose (lib/deadline-budget.ts): a GetItem answers in milliseconds, so an
 * attempt still open after a second is lost, and the caller is better served by a 503 it can retry.
 * `requestTimeout` alone only logs a warning in @smithy/node-http-handler 4.x; `throwOnRequestTimeout`
 * makes it end the attempt, and the socket timeout ends a connection that goes silent mid-answer.
 * Callers add one deadline per invocation on top (an AbortSignal), which bounds the retries too.
 */
export function createDynamoClient(options: DynamoClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined;
  const requestTimeout = options.requestTimeoutMs ?? DEADLINE_BUDGET.dynamoRequestTimeoutMs;
  return new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? (local ? 'us-east-1' : undefined),
    // DynamoDB Local accepts any credentials; don't make local users configure AWS.
    credentials: local && !process.env.AWS_ACCESS_KEY_ID ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined,
    maxAttempts: options.maxAttempts ?? DEADLINE_BUDGET.dynamoMaxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? DEADLINE_BUDGET.dynamoConnectTimeoutMs,
      requestTimeout,
      throwOnRequestTimeout: true,
      socketTimeout: requestTimeout,
      // Reused connections skip the TLS handshake; 50 sockets is the SDK's own default cap.
      httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
    }),
  });
}

/** The document client the store uses, over a client from createDynamoClient. */
export const documentClient = (client: DynamoDBClient): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
