import { App, Stack, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { McpSessionService, type McpSessionServiceProps } from '../../infra/mcp-session-service.js';

/** A stack synthesised without bundling (the assertions are about the template, not code assets). */
export const appWithoutBundling = (context: Record<string, unknown> = {}): App => new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });

/** An app carrying `-c` context values, without bundling. */
export const appWithContext = (context: Record<string, unknown>): App => appWithoutBundling(context);

export interface SynthesisedService {
  /** A user's stack ("Test") holding the construct, as a consumer would write it. */
  stack: Stack;
  service: McpSessionService;
  template: Template;
}

/**
 * `new McpSessionService(stack, 'Sessions', props)` in a plain stack, bundling the handlers from
 * source (bundling skipped: the template is what is asserted); test/construct-prebuilt.test.ts
 * covers the prebuilt bundles and test/synth.test.ts the one real bundling.
 */
export function synthService(props: McpSessionServiceProps = {}, env?: Environment): SynthesisedService {
  const { stack, service } = serviceInStack(props, env);
  return { stack, service, template: Template.fromStack(stack) };
}

/** The same, not yet synthesised: for tests that add the user's own constructs (roles, functions) first. */
export function serviceInStack(props: McpSessionServiceProps = {}, env?: Environment): Omit<SynthesisedService, 'template'> {
  const stack = new Stack(appWithoutBundling(), 'Test', env ? { env } : {});
  const service = new McpSessionService(stack, 'Sessions', { handlerCode: 'bundle-from-source', ...props });
  return { stack, service };
}

export type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect?: string };
export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

/** Every IAM policy statement in the template that allows `action`. */
export function statementsAllowing(template: Template, action: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => actionsOf([s]).includes(action));
}

type Rule = { Assertions: { Assert: unknown; AssertDescription: string }[] };

/** The template's CloudFormation rules made by the construct child `id` (logical ids carry the construct path and a hash). */
export function rulesNamed(template: Template, id: string): Rule[] {
  const rules = (template.toJSON().Rules ?? {}) as Record<string, Rule>;
  return Object.entries(rules)
    .filter(([logicalId]) => new RegExp(`^(Sessions)?${id}([0-9A-F]{8})?$`).test(logicalId))
    .map(([, rule]) => rule);
}
