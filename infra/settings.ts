import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** A stack setting (prop or `-c` context value) is malformed; the message names the setting. */
export class InvalidSettingError extends Error {
  override readonly name = 'InvalidSettingError';
}

/** Settings that are not function environment (those are checked by lib/config.ts, see function-environment.ts). */
export interface InfraSettings {
  tableRemoval?: 'retain' | 'destroy';
  throttleRateLimit?: number;
  throttleBurstLimit?: number;
  startThrottleRateLimit?: number;
  startThrottleBurstLimit?: number;
  alarmTopicArn?: string;
  reservedConcurrency?: number;
  tableMaxReadRequestUnits?: number;
  tableMaxWriteRequestUnits?: number;
  tableKmsKey?: string;
  logRetentionDays?: number;
}

export interface ResolvedInfraSettings {
  retainTable: boolean;
  stageThrottle: { rateLimit: number; burstLimit: number };
  startThrottle: { rateLimit: number; burstLimit: number };
  alarmTopicArn: string | undefined;
  reservedConcurrency: number | undefined;
  tableMaxReadRequestUnits: number | undefined;
  tableMaxWriteRequestUnits: number | undefined;
  tableKmsKey: 'create' | KmsKeyArn | undefined;
  logRetention: RetentionDays;
}

export interface KmsKeyArn {
  arn: string;
  region: string;
}

export const DEFAULTS = {
  throttleRateLimit: 500,
  throttleBurstLimit: 1000,
  // Starts are one per MCP session (checks are one per request), and a start is the only route that
  // writes a new item: its own, lower ceiling keeps a flood of initializes from filling the table.
  startThrottleRateLimit: 50,
  startThrottleBurstLimit: 100,
  logRetentionDays: 30,
} as const;

/** Every finite retention CloudWatch Logs accepts; "never expire" is refused so every log group has one. */
export const LOG_RETENTION_DAYS: readonly RetentionDays[] = Object.values(RetentionDays).filter(
  (days): days is RetentionDays => typeof days === 'number' && days !== RetentionDays.INFINITE,
);

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function integerAtLeast(name: string, value: number | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) throw new InvalidSettingError(`${name} must be an integer >= ${min}, got ${String(value)}`);
  return value;
}

function atMost(name: string, value: number, limitName: string, limit: number): number {
  if (value > limit) throw new InvalidSettingError(`${name} (${value}) must not exceed ${limitName} (${limit}): it is meant to be the tighter limit`);
  return value;
}

export function parseTableRemoval(value: string | undefined): 'retain' | 'destroy' | undefined {
  if (value === undefined || value === 'retain' || value === 'destroy') return value;
  throw new InvalidSettingError(`tableRemoval must be "retain" or "destroy", got "${value}"`);
}

function parseKmsKey(value: string | undefined): 'create' | KmsKeyArn | undefined {
  if (value === undefined || value === 'create') return value;
  const match = KMS_KEY_ARN.exec(value);
  if (!match?.[1]) throw new InvalidSettingError(`tableKmsKey must be "create" or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>), got "${value}"`);
  return { arn: value, region: match[1] };
}

/** Validates the infrastructure settings and fills in the defaults (which change nothing from before they existed). */
export function resolveInfraSettings(settings: InfraSettings): ResolvedInfraSettings {
  const rateLimit = integerAtLeast('throttleRateLimit', settings.throttleRateLimit, 1) ?? DEFAULTS.throttleRateLimit;
  const burstLimit = integerAtLeast('throttleBurstLimit', settings.throttleBurstLimit, 1) ?? DEFAULTS.throttleBurstLimit;
  const startRate = integerAtLeast('startThrottleRateLimit', settings.startThrottleRateLimit, 1);
  const startBurst = integerAtLeast('startThrottleBurstLimit', settings.startThrottleBurstLimit, 1);
  if (settings.alarmTopicArn !== undefined && !SNS_TOPIC_ARN.test(settings.alarmTopicArn)) {
    throw new InvalidSettingError(`alarmTopicArn must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>), got "${settings.alarmTopicArn}"`);
  }
  const days = settings.logRetentionDays ?? DEFAULTS.logRetentionDays;
  const retention = LOG_RETENTION_DAYS.find((allowed) => allowed === days);
  if (retention === undefined) {
    throw new InvalidSettingError(`logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(', ')} (what CloudWatch Logs accepts), got ${String(days)}`);
  }
  return {
    retainTable: (parseTableRemoval(settings.tableRemoval) ?? 'retain') === 'retain',
    stageThrottle: { rateLimit, burstLimit },
    startThrottle: {
      // A stage configured below the start defaults pulls the start limit down with it.
      rateLimit: startRate === undefined ? Math.min(DEFAULTS.startThrottleRateLimit, rateLimit) : atMost('startThrottleRateLimit', startRate, 'throttleRateLimit', rateLimit),
      burstLimit: startBurst === undefined ? Math.min(DEFAULTS.startThrottleBurstLimit, burstLimit) : atMost('startThrottleBurstLimit', startBurst, 'throttleBurstLimit', burstLimit),
    },
    alarmTopicArn: settings.alarmTopicArn,
    reservedConcurrency: integerAtLeast('reservedConcurrency', settings.reservedConcurrency, 1),
    tableMaxReadRequestUnits: integerAtLeast('tableMaxReadRequestUnits', settings.tableMaxReadRequestUnits, 1),
    tableMaxWriteRequestUnits: integerAtLeast('tableMaxWriteRequestUnits', settings.tableMaxWriteRequestUnits, 1),
    tableKmsKey: parseKmsKey(settings.tableKmsKey),
    logRetention: retention,
  };
}
