import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { stackSettingsFromContext } from '../infra/context.js';
import { invokeWildcardAcknowledgements } from '../infra/nag-acknowledgements.js';
import { SessionServiceStack } from '../infra/session-service-stack.js';
import { routes } from '../lib/routes.js';
import { appWithContext, rulesNamed, statementsAllowing, synthService } from './support/synth-stack.js';

const FRONT_END = 'arn:aws:iam::123456789012:role/front-end';
const OTHER_FRONT_END = 'arn:aws:iam::123456789012:role/team/other-front-end';
const FOREIGN = 'arn:aws:iam::999999999999:role/front-end';

/** The names of the roles that received execute-api:Invoke, sorted. */
function invokeGrantees(template: Template): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('execute-api:Invoke'))
    .flatMap((p) => p.Properties.Roles as unknown[])
    .map((r) => String(r))
    .sort();
}

describe('-c invokerRoleArns', () => {
  it('entries are trimmed and empty entries dropped: each role gets execute-api:Invoke on the routes', () => {
    const app = appWithContext({ invokerRoleArns: ` ${FRONT_END} ,, ${OTHER_FRONT_END},  ` });
    const { stackName, props } = stackSettingsFromContext(app.node);
    const template = Template.fromStack(new SessionServiceStack(app, stackName, props));
    expect(invokeGrantees(template)).toEqual(['front-end', 'other-front-end']);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'execute-api:Invoke' })]) },
      Roles: ['front-end'],
    });
    // One statement per distinct route ARN, per role.
    expect(statementsAllowing(template, 'execute-api:Invoke')).toHaveLength(2 * new Set(Object.values(routes).map((route) => `${route.method} ${route.path.replace(/\{.*$/, '*')}`)).size);
  });

  it('the same list as a cdk.json array works the same way; a duplicate is granted once', () => {
    const { props } = stackSettingsFromContext(appWithContext({ invokerRoleArns: [FRONT_END, ` ${FRONT_END}`, ''] }).node);
    expect(invokeGrantees(synthService(props).template)).toEqual(['front-end']);
  });

  it('a malformed ARN is refused at synth with a message naming it', () => {
    for (const bad of ['front-end', 'arn:aws:iam::123456789012:user/front-end', 'arn:aws:iam::12345:role/front-end', 'arn:aws:sts::123456789012:assumed-role/front-end/session']) {
      expect(() => synthService({ invokerRoleArns: [bad] })).toThrow(new RegExp(`invokerRoleArns: "${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is not an IAM role ARN`));
    }
  });

  it('ARNs that disagree on their account are refused at synth, naming the odd one out', () => {
    expect(() => synthService({ invokerRoleArns: [FRONT_END, FOREIGN] })).toThrow(
      /invokerRoleArns: arn:aws:iam::999999999999:role\/front-end is in account 999999999999, but .*123456789012.*no resource policy/,
    );
  });

  it('an ARN outside a concrete stack account is refused at synth, naming the ARN and why (HTTP APIs have no resource policy)', () => {
    expect(() => synthService({ invokerRoleArns: [FOREIGN] }, { account: '123456789012', region: 'eu-west-1' })).toThrow(
      /invokerRoleArns: arn:aws:iam::999999999999:role\/front-end is in account 999999999999, but this stack deploys to 123456789012\. An HTTP API has no resource policy/,
    );
    // The same account synthesises, without a deploy-time rule (there is nothing left to check).
    const { template } = synthService({ invokerRoleArns: [FRONT_END] }, { account: '123456789012', region: 'eu-west-1' });
    expect(invokeGrantees(template)).toEqual(['front-end']);
    expect(rulesNamed(template, 'InvokerRolesInThisAccount')).toEqual([]);
  });

  it('environment-agnostic: a CloudFormation rule pins the account, so a deploy elsewhere fails before creating anything (no same-named local role is bound)', () => {
    const { template } = synthService({ invokerRoleArns: [FRONT_END, OTHER_FRONT_END] });
    const [rule, ...others] = rulesNamed(template, 'InvokerRolesInThisAccount');
    expect(others).toEqual([]);
    expect(rule?.Assertions).toHaveLength(1);
    expect(rule?.Assertions[0]?.Assert).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, '123456789012'] });
    expect(rule?.Assertions[0]?.AssertDescription).toContain(FRONT_END);
    expect(rule?.Assertions[0]?.AssertDescription).toContain(OTHER_FRONT_END);
    expect(rule?.Assertions[0]?.AssertDescription).toContain('no resource policy');
    // Without invokers there is nothing to pin.
    expect(rulesNamed(synthService().template, 'InvokerRolesInThisAccount')).toEqual([]);
  });

  it('cdk-nag: the acknowledged findings are exactly the invoke route wildcards, and each is still raised by an unacknowledged grant', () => {
    const { stack, service } = synthService({ invokerRoleArns: [FRONT_END] });
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
    // The same grants made straight on the routes, with no acknowledgement, raise one IAM5 per route
    // ARN (routes whose paths agree up to their first parameter share one), and those findings are
    // exactly the acknowledged ids: none is stale, none is broader.
    const bare = new Role(stack, 'Unacknowledged', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    for (const route of Object.values(service.httpRoutes)) route.grantInvoke(bare);
    const findings = new AwsSolutionsChecks().validateScope(stack).violations;
    expect(findings.map((f) => f.ruleName).sort()).toEqual(invokeWildcardAcknowledgements(Object.values(service.httpRoutes)).map((a) => a.id).sort());
    for (const finding of findings) expect(finding.violatingResources.map((r) => r.constructPath)).toEqual(['Test/Unacknowledged/DefaultPolicy/Resource']);
    expect(findings).toHaveLength(new Set(Object.values(routes).map((route) => `${route.method} ${route.path.replace(/\{.*$/, '*')}`)).size);
    for (const ack of invokeWildcardAcknowledgements(Object.values(service.httpRoutes))) expect(ack.reason).toMatch(/\{sessionId\}.*secret/);
  });

  it('cdk-nag: only those wildcards are accepted; any other wildcard on an invoker role is still a finding', () => {
    const { stack, service } = synthService({ invokerRoleArns: [FRONT_END] });
    const invoker = service.node.findChild('Invoker0') as IRole;
    invoker.addToPrincipalPolicy(new PolicyStatement({ actions: ['execute-api:Invoke'], resources: [service.api.arnForExecuteApi()] }));
    const rules = new AwsSolutionsChecks().validateScope(stack).violations.map((v) => v.ruleName);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatch(/^AwsSolutions-IAM5\[Resource::.*\/\*\/\*\/\*\]$/);
  });

  it('grantInvoke(role) in code acknowledges the same wildcards on that role only, and passes cdk-nag', () => {
    const { stack, service } = synthService();
    const frontEnd = new Role(stack, 'FrontEnd', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    service.grantInvoke(frontEnd);
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});
