import { Aws, CfnRule, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { CfnGlobalTable, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Key, type IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { InvalidSettingError, type ResolvedInfraSettings } from './settings.js';

/**
 * What a principal needs on a customer-managed table key to read and write the table: the actions of
 * CDK's own `grantReadWriteData`, with its `kms:ReEncrypt*` and `kms:GenerateDataKey*` spelled out (no
 * wildcard), and only through DynamoDB (`kms:ViaService`), never directly.
 */
export const TABLE_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

/**
 * The table's key: none (DynamoDB's AWS owned key, the default) unless `tableKmsKey` asks for a
 * customer-managed one, either created here with yearly rotation (kept as long as the table is: a
 * retained table whose key was deleted could never be read again) or an existing key, which must be
 * in the table's region.
 */
export function tableKey(scope: Construct, setting: ResolvedInfraSettings['tableKmsKey'], retainTable: boolean): IKey | undefined {
  if (setting === undefined) return undefined;
  if (setting === 'create') {
    return new Key(scope, 'TableKey', {
      description: 'mcp-sessions: encrypts the sessions and session streams tables',
      enableKeyRotation: true,
      removalPolicy: retainTable ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
  }
  const stack = Stack.of(scope);
  if (Token.isUnresolved(stack.region)) {
    new CfnRule(scope, 'TableKeyInThisRegion', {
      assertions: [{ assert: Fn.conditionEquals(Aws.REGION, setting.region), assertDescription: `tableKmsKey ${setting.arn} is in ${setting.region}: deploy this stack there (a table's KMS key must be in its region).` }],
    });
  } else if (stack.region !== setting.region) {
    throw new InvalidSettingError(`tableKmsKey: ${setting.arn} is in ${setting.region}, but this stack deploys to ${stack.region}; a table's KMS key must be in its region`);
  }
  return Key.fromKeyArn(scope, 'TableKey', setting.arn);
}

/**
 * Encrypts the table with `key`. Not through `TableEncryptionV2.customerManagedKey`: TableV2 refuses to
 * render it in a region-agnostic stack (it resolves replica keys by region), and this stack is
 * region-agnostic with exactly one replica, the table's own region. The properties are the ones
 * CloudFormation documents for AWS::DynamoDB::GlobalTable: SSE of type KMS on the table, the key on the replica.
 */
export function encryptTable(table: TableV2, key: IKey | undefined): void {
  if (!key) return;
  const resource = table.node.defaultChild as CfnGlobalTable;
  resource.addPropertyOverride('SSESpecification', { SSEEnabled: true, SSEType: 'KMS' });
  resource.addPropertyOverride('Replicas.0.SSESpecification', { KMSMasterKeyId: key.keyArn });
}

/** Lets a function use the table key through DynamoDB only; no grant when the table has no customer-managed key. */
export function grantTableKey(key: IKey | undefined, grantee: IGrantable): Grant | undefined {
  if (!key) return undefined;
  return Grant.addToPrincipal({
    grantee,
    actions: TABLE_KEY_ACTIONS,
    resourceArns: [key.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
  });
}
