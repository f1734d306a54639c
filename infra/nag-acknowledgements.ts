import { Stack, Validations, type Acknowledgment } from 'aws-cdk-lib';
import type { HttpRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { Construct } from 'constructs';

/**
 * Every cdk-nag (AwsSolutions) finding McpSessionService accepts, each with the reason it is right
 * for it. Construct-wide: none. It passes the pack by design rather than by acknowledgement
 * (own roles instead of managed policies, access logging, the latest Node runtime). The only
 * acknowledgements are per invoke grantee (below); an in-process grantee needs none (its grant names
 * the table and key, no wildcard). `test/stack.test.ts` and `test/construct-grants.test.ts` run the
 * pack and fail on any finding not acknowledged; `test/stack-invokers.test.ts` on any acknowledgement
 * that no longer matches a finding.
 */
export const NAG_ACKNOWLEDGEMENTS: readonly Acknowledgment[] = [];

export function acknowledgeNagFindings(scope: Construct): void {
  if (NAG_ACKNOWLEDGEMENTS.length > 0) Validations.of(scope).acknowledge(...NAG_ACKNOWLEDGEMENTS);
}

export const INVOKE_WILDCARD_REASON =
  'execute-api:Invoke scoped to one route of this API. The stage segment is "*" because the API has exactly one stage ($default), ' +
  'created by this stack; the path has "*" for {sessionId} (and {streamId}) on the routes under /sessions/{sessionId} because the session id is a secret chosen at ' +
  'runtime, so no policy can name it and IAM cannot match a path parameter. Method and path prefix stay fixed.';

/**
 * The IAM5 findings a grant of invoke on these routes raises, one per route ARN, each acknowledged by its
 * exact finding id (`AwsSolutions-IAM5[Resource::<the route's ARN>]`, cdk-nag's per-finding form of
 * `appliesTo`): any other wildcard on the same policy is still a finding.
 */
export function invokeWildcardAcknowledgements(routes: readonly HttpRoute[]): Acknowledgment[] {
  const ids = routes.map((route) => `AwsSolutions-IAM5[Resource::${flattenForNag(Stack.of(route).resolve(route.routeArn))}]`);
  // Routes can share an ARN (see distinctRouteArns), and then share their one finding.
  return [...new Set(ids)].map((id) => ({ id, reason: INVOKE_WILDCARD_REASON }));
}

/**
 * The routes with distinct invoke ARNs, first of each. CDK's route ARN keeps a path only up to its
 * first parameter (GET /sessions/{sessionId} and GET /sessions/{sessionId}/streams/{streamId} are both
 * `GET/sessions/*`), so granting each route would repeat statements; one per ARN grants the same.
 */
export function distinctRouteArns(routes: readonly HttpRoute[]): HttpRoute[] {
  const seen = new Set<string>();
  return routes.filter((route) => {
    const arn = JSON.stringify(Stack.of(route).resolve(route.routeArn));
    if (seen.has(arn)) return false;
    seen.add(arn);
    return true;
  });
}

/** Acknowledges the invoke wildcards on the grantee's own constructs (its policy lives under it). */
export function acknowledgeInvokeWildcards(grantee: unknown, routes: readonly HttpRoute[]): void {
  if (Construct.isConstruct(grantee)) Validations.of(grantee).acknowledge(...invokeWildcardAcknowledgements(routes));
}

/** Renders a resolved CloudFormation value the way cdk-nag names it in a finding id (Ref → <Name>). */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    if ('Fn::Join' in value && Array.isArray(value['Fn::Join'])) {
      const [delimiter, parts] = value['Fn::Join'] as [string, unknown[]];
      return parts.map(flattenForNag).join(delimiter);
    }
    if ('Ref' in value) return `<${flattenForNag(value.Ref)}>`;
    if ('Fn::GetAtt' in value && Array.isArray(value['Fn::GetAtt'])) {
      const [resource, attribute] = value['Fn::GetAtt'] as [unknown, unknown];
      return `<${flattenForNag(resource)}.${flattenForNag(attribute)}>`;
    }
  }
  return JSON.stringify(value);
}
