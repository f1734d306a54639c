import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, emulatorDirectory } from '../scripts/local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

/** One real DynamoDB Local for the whole run (each test file makes its own tables in it). */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const given = process.env.DYNAMODB_ENDPOINT;
  if (given) {
    console.log(`[mcp-sessions tests] using DynamoDB at DYNAMODB_ENDPOINT=${given}`);
    project.provide('dynamodbEndpoint', given);
    return undefined;
  }
  const local = await startDynamoDbLocal();
  console.log(`[mcp-sessions tests] started real DynamoDB Local (${emulatorDirectory()}/DynamoDBLocal.jar, in memory, loopback only) at ${local.endpoint}`);
  project.provide('dynamodbEndpoint', local.endpoint);
  return async () => {
    await local.stop();
    console.log('[mcp-sessions tests] stopped DynamoDB Local');
  };
}
