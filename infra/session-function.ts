import { Duration } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { RemovalPolicy } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { join } from 'node:path';

export const PROJECT_ROOT = join(import.meta.dirname, '..');

export interface SessionFunctionProps {
  /** Handler source, relative to the project root (from lib/routes.ts). */
  entry: string;
  environment: Record<string, string>;
  logRetention: RetentionDays;
}

/**
 * One place that fixes the defaults every handler shares: Node.js 22 on arm64 (cheaper per ms),
 * bundled locally by esbuild (no Docker), minified with source maps, its own log group with a
 * retention, and a timeout short enough that a slow store yields a 503 long before API Gateway's 30 s.
 */
export class SessionFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: SessionFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const defaults: NodejsFunctionProps = {
      entry: join(PROJECT_ROOT, props.entry),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      logGroup,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        minify: true,
        sourceMap: true,
        bundleAwsSDK: true,
      },
    };
    super(scope, id, defaults);
  }
}
