import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { systemClock, type Clock } from '../../clock.js';
import { sessionClientWorstCaseMs } from '../../deadline-budget.js';
import { errorName } from '../../errors.js';
import { silentLogger, type Logger } from '../../logger.js';
import { sessionTag } from '../../session-id.js';
import type { SessionStreams } from '../../session-streams.js';
import type { JsonRpcId } from '../json-rpc.js';
import { STANDALONE_STREAM_ID, formatEventId, isStreamMarker, parseEventId, type StreamHeader, type StreamHeartbeat } from './stream-events.js';
import { storeCall } from './timing.js';

/** While detached and still working, a stream gets a heartbeat marker this often (when nothing else was written). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5000;
/** An attached stream keeps at most this many events (or bytes) in memory; past that it writes through. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 256;
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SessionEventStoreOptions {
  streams: SessionStreams;
  sessionId: string;
  /** The JSON-RPC requests of the POST whose stream this records; seq 1 names them (see StreamHeader). */
  requestIds?: readonly JsonRpcId[];
  /** Stored in the header and heartbeats, to tell which instance ran the work. */
  instanceId?: string;
  clock?: Clock;
  logger?: Logger;
  /** Each store call's deadline (default: SessionClient's worst case, as the gate). */
  storeDeadlineMs?: number;
  heartbeatIntervalMs?: number;
  maxBufferedEvents?: number;
  maxBufferedBytes?: number;
  /** Ends every pending write and the heartbeats (the handler closing). Never a request's signal: a detached stream is written because its client went away. */
  signal?: AbortSignal;
}

interface Buffered {
  seq: number;
  message: unknown;
}

const isEmptyObject = (message: unknown): boolean =>
  typeof message === 'object' && message !== null && !Array.isArray(message) && Object.keys(message).length === 0;

/**
 * The SDK transport's `eventStore` for one POST of a session (one per request, like the transport).
 *
 * A POST's SSE stream costs nothing while its client stays attached: its events are kept in memory
 * under the ids they will have in the store (`<streamId>.<requestIds>.<seq>`, seqs assigned here:
 * one writer per stream; the request ids let a resumer answer them should this process die
 * attached), and dropped if the stream completes attached. Once it detaches - the client went
 * away, or the server closed it for polling (`closeSSEStream`, SEP-1699) - `detach()` stores the buffer
 * in order and every later event is written through, so any instance can resume the stream. Seq 1
 * is a header (StreamHeader) in place of the SDK's empty priming message; while the detached
 * stream's work runs, a heartbeat marker is appended every `heartbeatIntervalMs` with no other
 * write, so a resumer can tell the writer is alive.
 *
 * Events of the standalone stream (`_GET_stream`: notifications with no related request) are
 * written through at once, so a standalone GET on any instance delivers them.
 */
export class SessionEventStore implements EventStore {
  private readonly recorders = new Map<string, StreamRecorder>();
  private readonly logger: Logger;

  constructor(private readonly options: SessionEventStoreOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    if (streamId === STANDALONE_STREAM_ID) {
      const seq = await this.append(streamId, message);
      return formatEventId(streamId, seq);
    }
    let recorder = this.recorders.get(streamId);
    if (recorder === undefined) {
      recorder = new StreamRecorder(streamId, this.options, this.logger, (id, stored) => this.append(id, stored));
      this.recorders.set(streamId, recorder);
    }
    return recorder.store(message);
  }

  /** The POST stream lost its client (or was closed for polling): store what was buffered, then write through. Resolves once stored. */
  async detach(): Promise<void> {
    await Promise.all([...this.recorders.values()].map((recorder) => recorder.detach()));
  }

  /** The POST's requests are all answered: no more heartbeats. */
  finish(): void {
    for (const recorder of this.recorders.values()) recorder.finish();
  }

  /** The stream reached its end with the client attached: what was buffered is not needed. */
  discard(): void {
    for (const recorder of this.recorders.values()) recorder.discard();
  }

  /** Whether anything of the POST stream was stored (it detached or spilled with events to store). */
  get stored(): boolean {
    return [...this.recorders.values()].some((recorder) => recorder.appended > 0);
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return parseEventId(eventId)?.streamId;
  }

  /**
   * For a server that hands GETs to the SDK transport: sends the stored events after
   * `lastEventId` (markers skipped) once. The SDK transport then keeps the stream open for events
   * of *this* process only; `sessionStreamServer` is what serves resumption across instances.
   */
  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined) throw new Error('not an event id of this store');
    let after = parsed.seq;
    for (;;) {
      const page = await storeCall('readAfter', this.deadlineMs, this.options.signal, (signal) =>
        this.options.streams.readAfter(this.options.sessionId, parsed.streamId, after, { signal }),
      );
      for (const { seq, message } of page) {
        after = seq;
        if (!isStreamMarker(message)) await send(formatEventId(parsed.streamId, seq, parsed.requestIds), message as JSONRPCMessage);
      }
      if (page.length === 0) return parsed.streamId;
    }
  }

  private get deadlineMs(): number {
    return this.options.storeDeadlineMs ?? sessionClientWorstCaseMs();
  }

  private append(streamId: string, message: unknown): Promise<number> {
    return storeCall('append', this.deadlineMs, this.options.signal, (signal) => this.options.streams.append(this.options.sessionId, streamId, message, { signal }));
  }
}

/** One POST stream: buffered while attached, written in order once detached (one chain of appends). */
class StreamRecorder {
  writing = false;
  /** Events of this stream stored so far. */
  appended = 0;
  /** Appends started and not yet settled: while one runs, the writer is plainly alive. */
  private inFlight = 0;
  private detached = false;
  private finished = false;
  private headed = false;
  private nextSeq = 1;
  private buffer: Buffered[] = [];
  private bufferedBytes = 0;
  /** Every append of this stream runs after the previous one, so seqs land as assigned. */
  private chain: Promise<unknown> = Promise.resolve();
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private readonly onAbort = () => this.stopHeartbeat();
  private wroteSinceBeat = false;

  constructor(
    private readonly streamId: string,
    private readonly options: SessionEventStoreOptions,
    private readonly logger: Logger,
    private readonly append: (streamId: string, message: unknown) => Promise<number>,
  ) {}

  async store(message: JSONRPCMessage): Promise<string> {
    if (!this.headed) {
      this.headed = true;
      const header: StreamHeader = {
        mcpSessions: 'stream',
        requestIds: [...(this.options.requestIds ?? [])],
        ...(this.options.instanceId === undefined ? {} : { instance: this.options.instanceId }),
        at: (this.options.clock ?? systemClock)(),
      };
      const headerId = this.accept(header);
      // The SDK's priming event is an empty object: the header takes its place (and its id).
      if (isEmptyObject(message)) return headerId;
    }
    return this.accept(message);
  }

  private accept(message: unknown): Promise<string> | string {
    if (this.writing) return this.writeThrough(message);
    const seq = this.nextSeq++;
    this.buffer.push({ seq, message });
    this.bufferedBytes += JSON.stringify(message).length;
    const max = { events: this.options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS, bytes: this.options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES };
    // A chatty stream must not hold unbounded memory: past the limit it is stored as it goes.
    if (this.buffer.length > max.events || this.bufferedBytes > max.bytes) void this.flush();
    return formatEventId(this.streamId, seq, this.options.requestIds);
  }

  private writeThrough(message: unknown): Promise<string> {
    const write = this.chain.then(() => this.store1(message));
    this.chain = write.catch(() => undefined);
    return write.then((seq) => formatEventId(this.streamId, seq, this.options.requestIds));
  }

  /** One append, counted: in flight, then as a sign of life for the heartbeat. */
  private async store1(message: unknown): Promise<number> {
    this.inFlight++;
    try {
      const seq = await this.append(this.streamId, message);
      this.appended++;
      return seq;
    } finally {
      this.inFlight--;
      this.wroteSinceBeat = true;
    }
  }

  /** Stores the buffer in order; later events are written through. */
  private flush(): Promise<void> {
    if (this.writing) return this.chain.then(() => undefined);
    this.writing = true;
    const pending = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    const write = this.chain.then(async () => {
      for (const { seq, message } of pending) {
        const stored = await this.store1(message);
        // Another writer got in first (should not happen: one writer per stream); the ids already sent would be off.
        if (stored !== seq) this.logger.warn('stream event stored at another sequence number', { session: sessionTag(this.options.sessionId), expected: seq, stored });
      }
    });
    this.chain = write.catch(() => undefined);
    return write.catch((error: unknown) => {
      this.logger.error('could not store a detached stream', { session: sessionTag(this.options.sessionId), error: errorName(error) });
    });
  }

  detach(): Promise<void> {
    if (this.detached) return this.chain.then(() => undefined);
    this.detached = true;
    const flushed = this.flush();
    if (!this.finished) this.startHeartbeat();
    return flushed;
  }

  finish(): void {
    this.finished = true;
    this.stopHeartbeat();
  }

  discard(): void {
    if (this.writing) return;
    this.buffer = [];
    this.bufferedBytes = 0;
  }

  private startHeartbeat(): void {
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    const signal = this.options.signal;
    if (signal?.aborted) return;
    this.heartbeat = setInterval(() => {
      if (this.finished || signal?.aborted) return this.stopHeartbeat();
      // A write in flight, or one since the last beat, already shows the writer alive.
      if (this.inFlight > 0 || this.wroteSinceBeat) {
        this.wroteSinceBeat = false;
        return;
      }
      const beat: StreamHeartbeat = {
        mcpSessions: 'heartbeat',
        ...(this.options.instanceId === undefined ? {} : { instance: this.options.instanceId }),
        at: (this.options.clock ?? systemClock)(),
      };
      this.writeThrough(beat).then(
        () => (this.wroteSinceBeat = false), // a beat is no event: the next tick still beats
        (error: unknown) => this.logger.warn('stream heartbeat not stored', { session: sessionTag(this.options.sessionId), error: errorName(error) }),
      );
    }, interval);
    this.heartbeat.unref();
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}
