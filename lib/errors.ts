/**
 * The store could not answer (throttled, unreachable, timed out). Callers must treat the session as
 * "unknown for now" - never as missing, or MCP clients would drop a live session.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(operation: string, options: { cause: unknown }) {
    super(`session store unavailable during ${operation}`, options);
  }
}

/** The AWS error name, for logs; never the message, which can carry table names and ARNs. */
export const errorName = (error: unknown): string =>
  error instanceof Error ? error.name : typeof error;
