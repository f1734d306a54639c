import { Aws, CfnRule, Fn, Stack, Token } from 'aws-cdk-lib';
import { Role, type IRole } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { InvalidSettingError } from './settings.js';

export interface InvokerRoleArn {
  arn: string;
  account: string;
}

// IAM role ARN: partition, empty region, 12-digit account, optional path, name of 1-64 [\w+=,.@-].
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** Why a role in another account cannot be an invoker; every refusal says it. */
export const CROSS_ACCOUNT_REASON =
  'An HTTP API has no resource policy, so execute-api:Invoke can only be granted by the caller\'s own IAM policy, in the API\'s account: ' +
  'use a role in that account (a front end in another account can assume it).';

/**
 * Trims each entry, drops empty ones and duplicates, and refuses anything that is not an IAM role
 * ARN, or ARNs that disagree on their account (at most one of them could be in the stack's account).
 */
export function parseInvokerRoleArns(entries: readonly string[]): InvokerRoleArn[] {
  const parsed: InvokerRoleArn[] = [];
  for (const entry of entries.map((e) => e.trim()).filter((e) => e !== '')) {
    const account = ROLE_ARN.exec(entry)?.[1];
    if (account === undefined) throw new InvalidSettingError(`invokerRoleArns: "${entry}" is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)`);
    if (parsed.some((p) => p.arn === entry)) continue;
    const first = parsed[0];
    if (first && first.account !== account) {
      throw new InvalidSettingError(`invokerRoleArns: ${entry} is in account ${account}, but ${first.arn} is in ${first.account}; all invokers must be in the stack's account. ${CROSS_ACCOUNT_REASON}`);
    }
    parsed.push({ arn: entry, account });
  }
  return parsed;
}

/**
 * Imports each invoker role so that grants attach a policy to it, and makes sure that role is the one
 * named. `Role.fromRoleArn` attaches a policy *by role name* in the account being deployed to whenever
 * it cannot prove the accounts differ, which in an environment-agnostic stack is always: deployed
 * elsewhere, a foreign ARN would silently grant a same-named local role. So a concrete stack account
 * must match at synth, and an environment-agnostic stack gets a CloudFormation rule that fails the
 * deployment, before anything is created, in any other account.
 */
export function importInvokerRoles(scope: Construct, invokers: readonly InvokerRoleArn[]): IRole[] {
  const first = invokers[0];
  if (!first) return [];
  const stack = Stack.of(scope);
  const names = invokers.map((i) => i.arn).join(', ');
  if (Token.isUnresolved(stack.account)) {
    new CfnRule(scope, 'InvokerRolesInThisAccount', {
      assertions: [
        {
          assert: Fn.conditionEquals(Aws.ACCOUNT_ID, first.account),
          assertDescription: `invokerRoleArns (${names}) are in account ${first.account}: deploy this stack there. ${CROSS_ACCOUNT_REASON}`,
        },
      ],
    });
  } else if (stack.account !== first.account) {
    throw new InvalidSettingError(`invokerRoleArns: ${first.arn} is in account ${first.account}, but this stack deploys to ${stack.account}. ${CROSS_ACCOUNT_REASON}`);
  }
  return invokers.map((invoker, i) => Role.fromRoleArn(scope, `Invoker${i}`, invoker.arn));
}
