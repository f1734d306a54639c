import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SessionServiceStack } from './session-service-stack.js';

const app = new App();
// cdk-nag's AwsSolutions pack checks every synth; findings fail it unless acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

/** Optional integer from `cdk deploy -c name=value`. */
function contextInteger(name: string): number | undefined {
  const raw: unknown = app.node.tryGetContext(name);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`context ${name} must be a non-negative integer, got ${String(raw)}`);
  return value;
}

const removal: unknown = app.node.tryGetContext('tableRemoval');
if (removal !== undefined && removal !== 'retain' && removal !== 'destroy') {
  throw new Error(`context tableRemoval must be "retain" or "destroy", got ${String(removal)}`);
}
const invokers: unknown = app.node.tryGetContext('invokerRoleArns');

// Environment-agnostic on purpose: synthesises offline, deploys to whatever account/region the CLI targets.
new SessionServiceStack(app, String(app.node.tryGetContext('stackName') ?? 'McpSessions'), {
  tableRemoval: removal,
  sessionTtlSeconds: contextInteger('sessionTtlSeconds'),
  pruneScanLimit: contextInteger('pruneScanLimit'),
  sessionMaxLifetimeSeconds: contextInteger('sessionMaxLifetimeSeconds'),
  throttleRateLimit: contextInteger('throttleRateLimit'),
  throttleBurstLimit: contextInteger('throttleBurstLimit'),
  alarmTopicArn: typeof app.node.tryGetContext('alarmTopicArn') === 'string' ? String(app.node.tryGetContext('alarmTopicArn')) : undefined,
  invokerRoleArns: typeof invokers === 'string' && invokers !== '' ? invokers.split(',') : undefined,
});
