import { Match, Template } from 'aws-cdk-lib/assertions';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { McpSessionService } from '../infra/mcp-session-service.js';
import { SessionServiceStack, type SessionServiceStackProps } from '../infra/session-service-stack.js';
import { appWithoutBundling } from './support/synth-stack.js';

const synthApp = (props: SessionServiceStackProps = {}): { stack: SessionServiceStack; template: Template } => {
  const stack = new SessionServiceStack(appWithoutBundling(), 'McpSessions', props);
  return { stack, template: Template.fromStack(stack) };
};

/**
 * Every logical id the stack had in 0.1, when it built the resources itself (recorded from that
 * version's template, with invokers, a created key and an alarm topic). A changed logical id is a
 * replacement on `cdk deploy`: for the retained table, a new empty table and the old one orphaned.
 */
const LOGICAL_IDS_BEFORE_THE_CONSTRUCT = [
  'ApiAccessLogsE9DF007D', 'ApiDELETEsessionssessionId0352C54E', 'ApiDELETEsessionssessionIdDestroyIntegrationD9745B5C',
  'ApiDELETEsessionssessionIdDestroyIntegrationPermissionACD965D4', 'ApiF70053CD', 'ApiGETsessionssessionId434E1428',
  'ApiGETsessionssessionIdCheckIntegrationD2A42363', 'ApiGETsessionssessionIdCheckIntegrationPermission147550EE', 'ApiPOSTsessions94352ED0',
  'ApiPOSTsessionsStartIntegrationCBDC2D7E', 'ApiPOSTsessionsStartIntegrationPermission0356A3EA', 'CheckFunctionC7D05BD4',
  'CheckFunctionLogsC8CB461A', 'CheckFunctionRole37C2F131', 'CheckFunctionRoleDefaultPolicy2D9106C9', 'DefaultStageEE28A986',
  'DestroyFunctionF812A036', 'DestroyFunctionLogs0EACD28E', 'DestroyFunctionRole25E1E9C3', 'DestroyFunctionRoleDefaultPolicyE8B502BB',
  'Invoker0Policy4D1E4B7F', 'Invoker1Policy195BE9D3', 'OperationsDashboardE19B83FC', 'OperationsDynamoThrottlesEA1EC7D1',
  'OperationsLambdaThrottles66F0659C', 'OperationsLatencyP99B1A0E227', 'OperationsServerErrorRateF1DAA999', 'OperationsStoreErrorsE3989FD5',
  'Sessions8896A56D', 'StartFunctionBAC07897', 'StartFunctionLogs8D595A45', 'StartFunctionRoleD29C603E', 'StartFunctionRoleDefaultPolicy22069946',
  'TableKeyF581D96F',
];

/**
 * What issue 10 (session state and streams) added: the streams table, one function (with its role,
 * policy and log group), route and integration per new route, and the streams table's throttle alarm.
 * Only additions: every id above is kept.
 */
const LOGICAL_IDS_ADDED_FOR_STATE_AND_STREAMS = [
  'ApiDELETEsessionssessionIdstreamsstreamIdF7442077', 'ApiDELETEsessionssessionIdstreamsstreamIdRemoveStreamIntegration483EA813',
  'ApiDELETEsessionssessionIdstreamsstreamIdRemoveStreamIntegrationPermission4364893B', 'ApiGETsessionssessionIdstreamsstreamIdADF34A9E',
  'ApiGETsessionssessionIdstreamsstreamIdLastSeqIntegration6432EECD', 'ApiGETsessionssessionIdstreamsstreamIdLastSeqIntegrationPermission11EFA218',
  'ApiGETsessionssessionIdstreamsstreamIdmessagesBDFBAD5F', 'ApiGETsessionssessionIdstreamsstreamIdmessagesReadMessagesIntegration0A13940D',
  'ApiGETsessionssessionIdstreamsstreamIdmessagesReadMessagesIntegrationPermissionDF00A4B8', 'ApiPATCHsessionssessionIdstate3FB2CA2A',
  'ApiPATCHsessionssessionIdstateUpdateStateIntegration948A285F', 'ApiPATCHsessionssessionIdstateUpdateStateIntegrationPermission3343E665',
  'ApiPOSTsessionssessionIdstreamsstreamIdmessages53AEF903', 'ApiPOSTsessionssessionIdstreamsstreamIdmessagesAppendMessageIntegration2EDB53E5',
  'ApiPOSTsessionssessionIdstreamsstreamIdmessagesAppendMessageIntegrationPermission376EA4E9', 'AppendMessageFunction2BE5373F',
  'AppendMessageFunctionLogs8F06E312', 'AppendMessageFunctionRoleDefaultPolicyF23A812D', 'AppendMessageFunctionRoleFBDB5391',
  'LastSeqFunction044E1C98', 'LastSeqFunctionLogs9A4E5391', 'LastSeqFunctionRoleA8CB41A8', 'LastSeqFunctionRoleDefaultPolicy01D9C044',
  'OperationsStreamsDynamoThrottles8BCF5A22', 'ReadMessagesFunctionFB06B3D1', 'ReadMessagesFunctionLogsB80E886C', 'ReadMessagesFunctionRole19FD990E',
  'ReadMessagesFunctionRoleDefaultPolicy149F0954', 'RemoveStreamFunctionAC152392', 'RemoveStreamFunctionLogs128C5B3C',
  'RemoveStreamFunctionRole4D3044AA', 'RemoveStreamFunctionRoleDefaultPolicyDD0AFED3', 'Streams72478C78', 'UpdateStateFunctionB2A44D42',
  'UpdateStateFunctionLogs2D2999A1', 'UpdateStateFunctionRoleDefaultPolicy0D774144', 'UpdateStateFunctionRoleF799C590',
];

describe('the repository\'s app: a thin Stack holding McpSessionService', () => {
  it('holds one McpSessionService, bundling the handlers from source (so `cdk synth` needs no build first)', () => {
    const { stack } = synthApp();
    expect(stack.node.children.filter((child) => child instanceof McpSessionService)).toEqual([stack.sessions]);
    for (const fn of Object.values(stack.sessions.functions)) expect(fn).toBeInstanceOf(NodejsFunction);
  });

  it('outputs the API URL, the two table names and the dashboard', () => {
    const { template } = synthApp();
    expect(Object.keys(template.toJSON().Outputs ?? {}).sort()).toEqual(['ApiUrl', 'DashboardName', 'StreamsTableName', 'TableName']);
    template.hasOutput('StreamsTableName', { Value: { Ref: 'Streams72478C78' } });
    template.hasOutput('DashboardName', { Value: { Ref: Match.stringLikeRegexp('^OperationsDashboard') } });
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Api'), 'ApiEndpoint'] } });
    template.hasOutput('TableName', { Value: { Ref: 'Sessions8896A56D' } });
  });

  it('keeps every logical id the stack had before the construct, so an update replaces nothing (the retained table above all); state and streams only add', () => {
    const { template } = synthApp({
      invokerRoleArns: ['arn:aws:iam::123456789012:role/front-end', 'arn:aws:iam::123456789012:role/path/other'],
      tableKmsKey: 'create',
      alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:pager',
    });
    const json = template.toJSON();
    expect(Object.keys(json.Resources as object).sort()).toEqual([...LOGICAL_IDS_BEFORE_THE_CONSTRUCT, ...LOGICAL_IDS_ADDED_FOR_STATE_AND_STREAMS].sort());
    expect(Object.keys(json.Rules as object).sort()).toEqual(['CheckBootstrapVersion', 'InvokerRolesInThisAccount']);
    const withKeyArn = synthApp({ tableKmsKey: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }).template.toJSON();
    expect(Object.keys(withKeyArn.Rules as object).sort()).toEqual(['CheckBootstrapVersion', 'TableKeyInThisRegion']);
  });
});
