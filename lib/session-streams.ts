import { isSessionId } from './session-id.js';
import type { CallOptions } from './session-store.js';

/**
 * Ordered, append-only message streams that belong to a session, shared by every instance: what a
 * Streamable HTTP server writes to an SSE stream (so any instance can replay and continue it), the
 * session's standalone GET stream (notifications published from any instance), and one-message
 * relay streams (a client's answer to a server->client request, POSTed to whichever instance).
 *
 * Messages are JSON values. Sequence numbers start at 1 and have no gaps: a reader that has seen
 * `n` can rely on every message before it being readable.
 */
export interface SessionStreams {
  /**
   * Appends a message at the stream's next sequence number and returns that number. Appends from
   * one process to one stream are applied in call order; appends from several instances are
   * ordered by the store (a conditional write per message, retried on conflict).
   */
  append(sessionId: string, streamId: string, message: unknown, options?: CallOptions): Promise<number>;
  /** Up to `limit` messages after `afterSeq` (0: from the start), oldest first; consistent read. */
  readAfter(sessionId: string, streamId: string, afterSeq: number, options?: ReadOptions): Promise<StreamMessage[]>;
  /** The newest sequence number of a stream, 0 when it has none (a standalone GET starts after it). */
  lastSeq(sessionId: string, streamId: string, options?: CallOptions): Promise<number>;
  /** Removes a whole stream (e.g. a relay stream once its answer was taken). */
  removeStream(sessionId: string, streamId: string, options?: CallOptions): Promise<void>;
}

export interface ReadOptions extends CallOptions {
  /** Default and maximum: STREAM_READ_MAX. */
  limit?: number;
}

export interface StreamMessage {
  seq: number;
  message: unknown;
}

/**
 * Stream ids are chosen by the server (UUIDs, `_GET_stream`, `relay:<id>`): short visible ASCII
 * without `#`, which separates the stream id from the sequence number in the store's sort key.
 */
export const STREAM_ID_PATTERN = /^[\x21\x22\x24-\x7e]{1,128}$/;

export const isStreamId = (value: unknown): value is string => typeof value === 'string' && STREAM_ID_PATTERN.test(value);

/** A message larger than this is refused: an SSE event of an MCP server is far smaller. */
export const STREAM_MESSAGE_MAX_BYTES = 256 * 1024;
export const STREAM_READ_MAX = 100;
/** The largest sequence number (12 digits in the store's sort key). */
export const STREAM_SEQ_MAX = 999_999_999_999;
/** Messages are kept this long after they are written (one session TTL), then expire. */
export const DEFAULT_STREAM_RETENTION_SECONDS = 3600;

export type StreamInputProblem = 'invalid_session_id' | 'invalid_stream_id' | 'invalid_message' | 'message_too_large' | 'invalid_seq' | 'invalid_limit';

/** Rejected stream input (before any request); `problem` is a stable machine code. */
export class InvalidStreamInputError extends Error {
  override readonly name = 'InvalidStreamInputError';
  constructor(
    readonly problem: StreamInputProblem,
    message: string,
  ) {
    super(message);
  }
}

/** Refuses ids no store could hold, before any request (InvalidStreamInputError). */
export function validateStreamIds(sessionId: string, streamId: string): void {
  if (!isSessionId(sessionId)) throw new InvalidStreamInputError('invalid_session_id', 'the session id is not one this library mints');
  if (!isStreamId(streamId)) throw new InvalidStreamInputError('invalid_stream_id', `a stream id must match ${String(STREAM_ID_PATTERN)}`);
}

/** The message as the JSON text stored (and sent over the API), or InvalidStreamInputError. */
export function streamMessageText(message: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(message) as string | undefined;
  } catch {
    text = undefined; // cycles and BigInts
  }
  if (text === undefined) throw new InvalidStreamInputError('invalid_message', 'a stream message must be a JSON value');
  if (Buffer.byteLength(text) > STREAM_MESSAGE_MAX_BYTES) {
    throw new InvalidStreamInputError('message_too_large', `a stream message must serialize to at most ${STREAM_MESSAGE_MAX_BYTES} bytes`);
  }
  return text;
}
