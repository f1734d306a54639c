import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'node:path';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';

export const PROJECT_ROOT = join(import.meta.dirname, '..');

export interface SessionFunctionProps {
  /** Handler source, relative to the project root (from lib/routes.ts). */
  entry: string;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  /** Concurrency reserved for this function; unset shares the account's unreserved pool. */
  reservedConcurrency?: number | undefined;
}

/** Lambda's timeout, from the one deadline budget (lib/deadline-budget.ts). */
export const FUNCTION_TIMEOUT = Duration.seconds(DEADLINE_BUDGET.lambdaTimeoutSeconds);

/**
 * How long API Gateway waits for a function: just above its timeout, so a broken function answers the
 * caller with an error about a second after Lambda would have ended it, instead of holding the caller
 * for API Gateway's default 30 s. (A cold start's init is not counted in the Lambda timeout, but a
 * handler ends within its 2 s deadline, which leaves several seconds of the 6 for init.)
 */
export const INTEGRATION_TIMEOUT = Duration.seconds(DEADLINE_BUDGET.apiGatewayIntegrationTimeoutSeconds);

/**
 * One place that fixes the defaults every handler shares:
 * - Node.js 24 on arm64 (cheaper per GB-second), bundled locally by esbuild (no Docker), minified,
 *   with source maps, and with the AWS SDK bundled: `npm run bench` found module initialisation equal
 *   within noise either way, so the pinned, tested SDK version wins (README, Performance).
 * - 512 MB: Lambda's CPU share grows with memory, and each request is CPU-bound in the SDK (about
 *   0.6-0.8 ms of a full core per call in the bench); 256 MB would add several ms to every check.
 * - Timeout `DEADLINE_BUDGET.lambdaTimeoutSeconds` (5 s): the handler's own deadline (2 s for all of
 *   its DynamoDB calls) plus logging, metrics and a cold start's first request, so a hung store ends
 *   in our 503 long before Lambda would cut the invocation off; API Gateway's integration timeout is
 *   set just above it (INTEGRATION_TIMEOUT). The budget and how it nests: lib/deadline-budget.ts.
 * - Its own role and log group (with a retention), instead of the AWS managed basic-execution policy.
 */
export class SessionFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: SessionFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `${id}: writes its own log group, plus the table actions granted by the stack` });
    logGroup.grantWrite(role);
    super(scope, id, {
      entry: join(PROJECT_ROOT, props.entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: FUNCTION_TIMEOUT,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role,
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node24',
        minify: true,
        sourceMap: true,
        bundleAwsSDK: true,
      },
    });
  }
}
