import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackSettingsFromContext } from './context.js';
import { SessionServiceStack } from './session-service-stack.js';

const app = new App();
// cdk-nag's AwsSolutions pack checks every synth; findings fail it unless acknowledged with a reason.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

// Every `-c` value is validated here and in the stack, before any function is bundled (README, Configuration).
const { stackName, props } = stackSettingsFromContext(app.node);

// Environment-agnostic on purpose: synthesises offline, deploys to whatever account/region the CLI targets.
new SessionServiceStack(app, stackName, props);
