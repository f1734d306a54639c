import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, isJSONRPCNotification, isJSONRPCRequest, type JSONRPCMessage, type MessageExtraInfo } from '@modelcontextprotocol/sdk/types.js';
import { errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { sessionTag } from '../../session-id.js';
import { LOG_LEVELS, isLogLevel, type SessionMetadata, type SessionState } from '../../session-store.js';
import type { JsonRpcId } from '../json-rpc.js';
import { RelayTimeoutError, type ServerRequestRelay } from './server-request-relay.js';
import { requestKey, responseId } from './stream-events.js';

/** The SDK's default request timeout; a relay waits as long unless told otherwise. */
export const DEFAULT_RELAY_TIMEOUT_MS = 60_000;

export interface SessionTransportOptions {
  sessionId: string;
  /** The session's state as the gate's check returned it: filters log messages and resource updates. */
  state?: SessionState;
  relay: ServerRequestRelay;
  relayTimeoutMs?: number;
  /** The JSON-RPC requests of this POST; `onRequestsDone` runs once each is answered (or cancelled). */
  requestIds?: readonly JsonRpcId[];
  onRequestsDone?: () => void;
  logger?: Logger;
}

const RESTORE_ID = 'mcp-sessions:restore-initialize';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A Transport decorator between a per-request SDK server and its (stateless, per-request) SDK
 * transport that makes the server act as one session shared by every instance:
 *
 * - server->client requests leave with a relay id (`relay:<uuid>`) and their answer, POSTed to any
 *   instance, comes back through the ServerRequestRelay under the SDK's own numeric id; no answer
 *   within `relayTimeoutMs` comes back as a JSON-RPC RequestTimeout error, and a request the SDK
 *   cancels (its own timeout, an abort) stops waiting and tells the client under the relay id;
 * - `notifications/message` below the session's stored log level, and
 *   `notifications/resources/updated` for URIs the session has not subscribed to, are dropped;
 * - `sessionId` is the gate's session id, so tools see it as `extra.sessionId`;
 * - `restoreInitialize` replays the session's stored initialize to the fresh server, so it knows
 *   the client's capabilities (elicitation, sampling, roots) and clientInfo.
 */
export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
  readonly sessionId: string;
  private state: SessionState;
  private readonly logger: Logger;
  /** Server->client requests awaiting their answer: SDK id -> relay id and the wait's abort. */
  private readonly outgoing = new Map<string, { relayId: string; abort: AbortController }>();
  /** This POST's requests not yet answered. */
  private readonly unanswered = new Map<string, JsonRpcId>();
  private doneReported = false;
  private restored: ((ok: boolean) => void) | undefined;

  constructor(
    readonly inner: Transport,
    private readonly options: SessionTransportOptions,
  ) {
    this.sessionId = options.sessionId;
    this.state = options.state ?? {};
    this.logger = options.logger ?? silentLogger;
    for (const id of options.requestIds ?? []) this.unanswered.set(requestKey(id), id);
    inner.onmessage = (message, extra) => this.onmessage?.(message, extra);
    inner.onerror = (error) => this.onerror?.(error);
    inner.onclose = () => {
      this.abortOutgoing();
      this.onclose?.();
    };
  }

  /** Whether every request of this POST has its answer sent (or was cancelled). */
  get allAnswered(): boolean {
    return this.unanswered.size === 0;
  }

  /** The state after a change this request made (setLevel, subscribe), for its later notifications. */
  updateState(state: SessionState): void {
    this.state = state;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async close(): Promise<void> {
    this.abortOutgoing();
    await this.inner.close();
  }

  /** Hands a message to the server as if it had come over this transport (a cancellation from another POST). */
  receive(message: JSONRPCMessage): void {
    if (isJSONRPCNotification(message) && message.method === 'notifications/cancelled') {
      const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
      if (typeof requestId === 'string' || typeof requestId === 'number') this.answered(requestId);
    }
    this.onmessage?.(message);
  }

  /**
   * Replays the session's initialize (as stored by the gate) to the server this transport is
   * connected to, and swallows its answer. Call after `server.connect(transport)`.
   */
  restoreInitialize(metadata: SessionMetadata): Promise<void> {
    const params = {
      protocolVersion: metadata.protocolVersion,
      capabilities: isObject(metadata.capabilities) ? metadata.capabilities : {},
      clientInfo: metadata.clientInfo,
    };
    return new Promise((resolve) => {
      this.restored = (ok) => {
        this.restored = undefined;
        if (!ok) this.logger.warn('stored initialize not accepted by the server', { session: sessionTag(this.sessionId) });
        resolve();
      };
      this.onmessage?.({ jsonrpc: '2.0', id: RESTORE_ID, method: 'initialize', params });
    });
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const answers = responseId(message);
    if (answers === RESTORE_ID && this.restored !== undefined) return this.restored(!('error' in message));
    if (isJSONRPCRequest(message)) return this.sendRequest(message, options);
    if (isJSONRPCNotification(message)) {
      if (!this.wanted(message)) return;
      if (message.method === 'notifications/cancelled') return this.inner.send(this.cancellation(message), options);
    }
    // Counted before it is written: the stream may close (and be looked at) before send returns.
    const last = answers !== undefined && this.answered(answers, false);
    try {
      await this.inner.send(message, options);
    } finally {
      if (last) this.reportDone();
    }
  }

  private async sendRequest(message: JSONRPCMessage & { id: JsonRpcId }, options: TransportSendOptions | undefined): Promise<void> {
    const { relay, sessionId } = { relay: this.options.relay, sessionId: this.sessionId };
    const sdkId = message.id;
    const relayId = relay.newRelayId();
    const abort = new AbortController();
    this.outgoing.set(requestKey(sdkId), { relayId, abort });
    const timeoutMs = this.options.relayTimeoutMs ?? DEFAULT_RELAY_TIMEOUT_MS;
    // Waiting starts before the request leaves: its answer can arrive before send returns.
    relay
      .wait(sessionId, relayId, { timeoutMs, signal: abort.signal })
      .then(
        (answer) => this.onmessage?.({ ...answer, id: sdkId } as JSONRPCMessage),
        (error: unknown) => {
          if (abort.signal.aborted) return; // cancelled by the SDK or the transport closed: nothing to deliver
          const timedOut = error instanceof RelayTimeoutError;
          if (!timedOut) this.logger.warn('relay wait failed', { session: sessionTag(sessionId), error: errorName(error) });
          this.onmessage?.({
            jsonrpc: '2.0',
            id: sdkId,
            error: timedOut
              ? { code: ErrorCode.RequestTimeout, message: 'Request timed out', data: { timeout: timeoutMs } }
              : { code: ErrorCode.InternalError, message: 'The answer to this request could not be received' },
          });
        },
      )
      .finally(() => {
        if (this.outgoing.get(requestKey(sdkId))?.relayId === relayId) this.outgoing.delete(requestKey(sdkId));
      });
    try {
      await this.inner.send({ ...message, id: relayId }, options);
    } catch (error) {
      abort.abort();
      throw error;
    }
  }

  /** The SDK cancels its request under its own id; the client knows it by the relay id. */
  private cancellation(message: JSONRPCMessage): JSONRPCMessage {
    const params = isObject((message as { params?: unknown }).params) ? (message as { params: Record<string, unknown> }).params : {};
    const requestId = params.requestId;
    if (typeof requestId !== 'string' && typeof requestId !== 'number') return message;
    const outgoing = this.outgoing.get(requestKey(requestId));
    if (outgoing === undefined) return message;
    outgoing.abort.abort();
    this.outgoing.delete(requestKey(requestId));
    return { ...message, params: { ...params, requestId: outgoing.relayId } } as JSONRPCMessage;
  }

  /** Whether a notification is for this session as its state stands. */
  private wanted(message: JSONRPCMessage & { method: string }): boolean {
    const params = isObject((message as { params?: unknown }).params) ? (message as { params: Record<string, unknown> }).params : {};
    if (message.method === 'notifications/message') {
      const threshold = this.state.logLevel;
      const level = params.level;
      return threshold === undefined || !isLogLevel(level) || LOG_LEVELS.indexOf(level) >= LOG_LEVELS.indexOf(threshold);
    }
    if (message.method === 'notifications/resources/updated') {
      return typeof params.uri === 'string' && (this.state.subscriptions ?? []).includes(params.uri);
    }
    return true;
  }

  /** Marks a request answered; true when it was the last one (and `report` not asked for). */
  private answered(id: JsonRpcId, report = true): boolean {
    if (!this.unanswered.delete(requestKey(id)) || this.unanswered.size > 0) return false;
    if (report) this.reportDone();
    return true;
  }

  private reportDone(): void {
    if (this.doneReported) return;
    this.doneReported = true;
    this.options.onRequestsDone?.();
  }

  private abortOutgoing(): void {
    for (const { abort } of this.outgoing.values()) abort.abort();
    this.outgoing.clear();
  }
}
