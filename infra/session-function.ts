import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime, type FunctionProps } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEADLINE_BUDGET } from '../lib/deadline-budget.js';
import type { RouteName } from '../lib/routes.js';
import type { ResolvedHandlerCode } from './handler-code.js';

export interface SessionFunctionProps {
  route: RouteName;
  /** Where the handler's code comes from (infra/handler-code.ts), checked before any construct is made. */
  code: ResolvedHandlerCode;
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
 * - Node.js 24 on arm64 (cheaper per GB-second); the code is a minified CJS bundle with source maps
 *   and the AWS SDK bundled: `npm run bench` found module initialisation equal within noise either
 *   way, so the pinned, tested SDK version wins (README, Performance). Either the bundle the package
 *   ships (`prebuilt`, built by scripts/build/bundle-functions.ts with these settings) or the same
 *   bundle made at synth by esbuild locally, no Docker (`bundle-from-source`).
 * - 512 MB: Lambda's CPU share grows with memory, and each request is CPU-bound in the SDK (about
 *   0.6-0.8 ms of a full core per call in the bench); 256 MB would add several ms to every check.
 * - Timeout `DEADLINE_BUDGET.lambdaTimeoutSeconds` (5 s): the handler's own deadline (2 s for all of
 *   its DynamoDB calls) plus logging, metrics and a cold start's first request, so a hung store ends
 *   in our 503 long before Lambda would cut the invocation off; API Gateway's integration timeout is
 *   set just above it (INTEGRATION_TIMEOUT). The budget and how it nests: lib/deadline-budget.ts.
 * - Its own role and log group (with a retention), instead of the AWS managed basic-execution policy.
 */
export function createSessionFunction(scope: Construct, id: string, props: SessionFunctionProps): LambdaFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
  const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description: `${id}: writes its own log group, plus the table actions granted by the stack` });
  logGroup.grantWrite(role);
  const shared = {
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    memorySize: 512,
    timeout: FUNCTION_TIMEOUT,
    reservedConcurrentExecutions: props.reservedConcurrency,
    role,
    logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
  } satisfies Omit<FunctionProps, 'code' | 'handler'>;
  const { code } = props;
  if (code.kind === 'prebuilt') {
    // The bundle's module is index.js and exports `handler`, as NodejsFunction's own output does.
    return new LambdaFunction(scope, id, { ...shared, code: Code.fromAsset(code.directories[props.route]), handler: 'index.handler' });
  }
  return new NodejsFunction(scope, id, {
    ...shared,
    entry: code.entries[props.route],
    projectRoot: code.projectRoot,
    depsLockFilePath: code.lockFile,
    handler: 'handler',
    bundling: {
      format: OutputFormat.CJS,
      target: 'node24',
      minify: true,
      sourceMap: true,
      bundleAwsSDK: true,
    },
  });
}
