import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ErrorCode, McpError, SetLevelRequestSchema, SubscribeRequestSchema, UnsubscribeRequestSchema, type ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { sessionClientWorstCaseMs } from '../../deadline-budget.js';
import { StoreUnavailableError, errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { sessionTag } from '../../session-id.js';
import { InvalidStateChangeError, type SessionState, type SessionStateChange, type SessionStore } from '../../session-store.js';
import { ownerForPrincipal } from '../principal-owner.js';
import { storeCall } from './timing.js';

export interface SessionStateHandlersOptions {
  store: SessionStore;
  sessionId: string;
  /** The request's principal, as the gate found it: the session's owner is derived from it as the gate does. */
  principal?: string;
  /** Each store call's deadline (default: SessionClient's worst case, as the gate). */
  storeDeadlineMs?: number;
  logger?: Logger;
  /** Told the session's new state after each change (the transport filters this request's later notifications with it). */
  onStateChanged?: (state: SessionState) => void;
}

/**
 * The server's declared capabilities. `Server.getCapabilities` is public at run time but private in
 * the SDK's types; should it ever go, both kinds of handler are registered (setLevel's own check
 * still refuses a server without `logging`).
 */
function capabilitiesOf(server: Server): ServerCapabilities {
  const read = (server as unknown as { getCapabilities?: () => ServerCapabilities }).getCapabilities;
  return typeof read === 'function' ? read.call(server) : { logging: {}, resources: { subscribe: true } };
}

/**
 * Registers on a (per-request) SDK server the handlers that keep what a client sets during a
 * session in the session store, where every instance reads it with its check: `logging/setLevel`
 * (when the server declares `logging`) and `resources/subscribe` / `resources/unsubscribe` (when
 * it declares `resources.subscribe`). They replace the SDK's own (which keep it in memory). Each
 * answers `{}` once stored; a refused change is InvalidParams, a session gone is InvalidRequest, a
 * store that did not answer in time an InternalError - never a hang.
 */
export function registerSessionStateHandlers(server: Server, options: SessionStateHandlersOptions): void {
  const logger = options.logger ?? silentLogger;
  const capabilities = capabilitiesOf(server);

  const persist = async (change: SessionStateChange, requestSignal: AbortSignal): Promise<Record<string, never>> => {
    const owner = options.principal === undefined ? {} : { owner: ownerForPrincipal(options.principal) };
    let status;
    try {
      status = await storeCall('updateState', options.storeDeadlineMs ?? sessionClientWorstCaseMs(), requestSignal, (signal) =>
        options.store.updateState(options.sessionId, change, { ...owner, signal }),
      );
    } catch (error) {
      if (error instanceof InvalidStateChangeError) throw new McpError(ErrorCode.InvalidParams, error.message);
      if (error instanceof StoreUnavailableError) {
        logger.warn('session state not stored: store unavailable', { session: sessionTag(options.sessionId), error: errorName(error.cause) });
        throw new McpError(ErrorCode.InternalError, 'Session store temporarily unavailable; retry shortly');
      }
      logger.error('session state not stored', { session: sessionTag(options.sessionId), error: errorName(error) });
      throw new McpError(ErrorCode.InternalError, 'Internal error');
    }
    if (!status.active) throw new McpError(ErrorCode.InvalidRequest, 'Session not found');
    options.onStateChanged?.(status.state ?? {});
    return {};
  };

  if (capabilities.logging) {
    server.setRequestHandler(SetLevelRequestSchema, (request, extra) => persist({ logLevel: request.params.level }, extra.signal));
  }
  if (capabilities.resources?.subscribe) {
    server.setRequestHandler(SubscribeRequestSchema, (request, extra) => persist({ subscribe: request.params.uri }, extra.signal));
    server.setRequestHandler(UnsubscribeRequestSchema, (request, extra) => persist({ unsubscribe: request.params.uri }, extra.signal));
  }
}
