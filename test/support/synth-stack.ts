import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SessionServiceStack, type SessionServiceStackProps } from '../../infra/session-service-stack.js';

/**
 * Synthesises the stack without bundling (the assertions are about the template, not code assets);
 * `context` is what `-c` would give the app. test/synth.test.ts is the one test that bundles.
 */
export function synthStack(props: SessionServiceStackProps = {}, env?: Environment): { stack: SessionServiceStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SessionServiceStack(app, 'Test', { ...props, ...(env ? { env } : {}) });
  return { stack, template: Template.fromStack(stack) };
}

/** An app carrying `-c` context values, without bundling. */
export const appWithContext = (context: Record<string, unknown>): App => new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });

export type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown };
export const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();

/** Every IAM policy statement in the template that allows `action`. */
export function statementsAllowing(template: Template, action: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => actionsOf([s]).includes(action));
}
