import type { Node } from 'constructs';
import { environmentSettingsFromText } from './function-environment.js';
import type { SessionServiceStackProps } from './session-service-stack.js';
import { InvalidSettingError, parseTableRemoval, type InfraSettings } from './settings.js';

type IntegerSetting = { [K in keyof InfraSettings]-?: InfraSettings[K] extends number | undefined ? K : never }[keyof InfraSettings];

const INTEGER_SETTINGS: readonly IntegerSetting[] = [
  'throttleRateLimit',
  'throttleBurstLimit',
  'startThrottleRateLimit',
  'startThrottleBurstLimit',
  'reservedConcurrency',
  'tableMaxReadRequestUnits',
  'tableMaxWriteRequestUnits',
  'logRetentionDays',
];

/**
 * Reads the stack's settings from `-c name=value` (or cdk.json) context. `-c` values are strings, cdk.json
 * may hold numbers; both are read as text, trimmed, and an empty value means "not set". The function
 * settings are parsed by lib/config.ts exactly as the functions will parse them; the stack then checks
 * every value's range (infra/settings.ts), so a prop and a context value meet the same rules.
 */
export function stackSettingsFromContext(node: Node): { stackName: string; props: SessionServiceStackProps } {
  const text = (name: string): string | undefined => {
    const raw: unknown = node.tryGetContext(name);
    if (raw === undefined || raw === null) return undefined;
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new InvalidSettingError(`context ${name} must be a string or a number, got ${JSON.stringify(raw)}`);
    const value = String(raw).trim();
    return value === '' ? undefined : value;
  };
  const integer = (name: IntegerSetting): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    // Same rule as lib/config.ts: digits only, so "1e3", "0x10" or "12abc" are refused rather than guessed.
    if (!/^\d+$/.test(value)) throw new InvalidSettingError(`${name} must be a whole number, got "${value}"`);
    return Number(value);
  };
  const integers: Partial<Record<IntegerSetting, number>> = {};
  for (const name of INTEGER_SETTINGS) {
    const value = integer(name);
    if (value !== undefined) integers[name] = value;
  }

  const props: SessionServiceStackProps = {
    ...environmentSettingsFromText({
      sessionTtlSeconds: text('sessionTtlSeconds'),
      sessionMaxLifetimeSeconds: text('sessionMaxLifetimeSeconds'),
      pruneScanLimit: text('pruneScanLimit'),
      streamRetentionSeconds: text('streamRetentionSeconds'),
    }),
    ...integers,
    tableRemoval: parseTableRemoval(text('tableRemoval')),
    alarmTopicArn: text('alarmTopicArn'),
    tableKmsKey: text('tableKmsKey'),
    invokerRoleArns: invokerEntries(node.tryGetContext('invokerRoleArns')),
  };
  return { stackName: text('stackName') ?? 'McpSessions', props };
}

/** `-c invokerRoleArns=a,b` or a cdk.json array; entries are trimmed and empty ones dropped later. */
function invokerEntries(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw.split(',');
  if (Array.isArray(raw) && raw.every((entry): entry is string => typeof entry === 'string')) return raw;
  throw new InvalidSettingError(`context invokerRoleArns must be a comma-separated string or a list of strings, got ${JSON.stringify(raw)}`);
}
