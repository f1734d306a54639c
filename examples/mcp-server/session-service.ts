/**
 * Telling the operator, in one line, that the session service the example needs is not there -
 * at startup, and whenever a request finds it gone.
 */
import { StoreUnavailableError, deadlineSignal, type Logger, type SessionStore } from 'mcp-sessions';
import { STORE_UNAVAILABLE_LOG, withDeadline } from 'mcp-sessions/mcp';

/** Long enough for a cold Lambda behind the API, short enough that a hung service is reported soon. */
export const PROBE_DEADLINE_MS = 5000;

/** A well-formed id no store ever issues: checking it costs one read and finds nothing. */
const PROBE_SESSION_ID = '00000000-0000-4000-8000-000000000000';

export const isLoopback = (url: URL): boolean => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

export function unreachableMessage(url: URL): string {
  return isLoopback(url)
    ? `Cannot reach the session service at ${url.origin}: start it with \`npm start\` in another terminal (or set MCP_SESSIONS_URL to a running one).`
    : `Cannot reach the session service at ${url.origin}: check MCP_SESSIONS_URL and that the stack is deployed.`;
}

/** Undefined when the service answers; otherwise the one line to print. */
export async function probeSessionService(store: SessionStore, url: URL): Promise<string | undefined> {
  try {
    await withDeadline('check', deadlineSignal(PROBE_DEADLINE_MS), (signal) => store.check(PROBE_SESSION_ID, { signal }));
    return undefined;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return unreachableMessage(url);
    return `The session service at ${url.origin} refused the example: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** One line per log entry; a store outage becomes the same hint as at startup. */
export function consoleLogger(url: URL): Logger {
  const line = (message: string, attributes: Record<string, unknown>) =>
    Object.keys(attributes).length === 0 ? message : `${message} ${JSON.stringify(attributes)}`;
  return {
    info: (message, attributes) => console.log(line(message, attributes)),
    warn: (message, attributes) => console.warn(message === STORE_UNAVAILABLE_LOG ? unreachableMessage(url) : line(message, attributes)),
    error: (message, attributes) => console.error(line(message, attributes)),
  };
}
