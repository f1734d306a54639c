import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { McpSessionService, type McpSessionServiceProps } from './mcp-session-service.js';

/** The repository's own app's props: the construct's, plus the stack's. */
export interface SessionServiceStackProps extends StackProps, McpSessionServiceProps {}

/**
 * The repository's own deployable app (`npx cdk deploy`): one McpSessionService and its outputs.
 * It bundles the handlers from source (`bundle-from-source`), so `cdk synth` needs no build step.
 */
export class SessionServiceStack extends Stack {
  readonly sessions: McpSessionService;

  constructor(scope: Construct, id: string, props: SessionServiceStackProps = {}) {
    super(scope, id, props);
    // The id "Default" is left out of logical ids (CDK's rule for a construct's default child), so every
    // resource keeps the logical id it had when this stack built them itself: nothing is replaced on
    // update, above all not the retained table.
    this.sessions = new McpSessionService(this, 'Default', { ...props, handlerCode: props.handlerCode ?? 'bundle-from-source' });

    new CfnOutput(this, 'ApiUrl', { value: this.sessions.apiUrl, description: 'Base URL of the sessions API (SigV4, service execute-api)' });
    new CfnOutput(this, 'TableName', { value: this.sessions.table.tableName, description: 'DynamoDB table holding the sessions' });
    new CfnOutput(this, 'StreamsTableName', { value: this.sessions.streamsTable.tableName, description: 'DynamoDB table holding the session streams' });
    new CfnOutput(this, 'DashboardName', { value: this.sessions.dashboard.dashboardName, description: 'CloudWatch dashboard' });
  }
}
