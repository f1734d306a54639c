import { createHash, randomUUID } from 'node:crypto';

/**
 * Our ids are RFC 9562 version-4 UUIDs: 122 random bits from the platform CSPRNG, visible ASCII,
 * no commas (MCP requires 0x21-0x7E; HTTP joins repeated headers with commas).
 */
const SESSION_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const SESSION_ID_LENGTH = 36;

export const newSessionId = (): string => randomUUID();

/** True only for a string that could have been minted by newSessionId. */
export const isSessionId = (value: unknown): value is string =>
  typeof value === 'string' && value.length === SESSION_ID_LENGTH && SESSION_ID_PATTERN.test(value);

/** A short, non-reversible tag for correlating log lines: session ids are secrets, never logged whole. */
export const sessionTag = (sessionId: string): string =>
  createHash('sha256').update(sessionId).digest('hex').slice(0, 12);
