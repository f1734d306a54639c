import { isJsonRpcId, parseJson, type JsonRpcId } from '../json-rpc.js';

/**
 * What the SDK-bound layer stores in a session's streams besides JSON-RPC messages, and how SSE
 * event ids name a stored event. One place, because the writer (the EventStore adapter) and the
 * readers (the stream server on any instance) must agree on every detail.
 */

/** The SDK's name for a session's standalone GET stream; notifications with no related request go there. */
export const STANDALONE_STREAM_ID = '_GET_stream';

/**
 * Server->client requests leave with a string id `relay:<uuid>`: unique across instances, so the
 * client's answer, POSTed to any instance, names the one stream (the same string) to put it in.
 */
export const RELAY_ID_PREFIX = 'relay:';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RELAY_ID = /^relay:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isRelayId = (id: unknown): id is string => typeof id === 'string' && RELAY_ID.test(id);

/** A POST's SSE stream (the SDK names them with randomUUID) or the standalone stream. */
export const isServedStreamId = (streamId: string): boolean => streamId === STANDALONE_STREAM_ID || UUID.test(streamId);

/** At most this many request ids ride in a POST stream's event ids (a batch's; one, nearly always)... */
export const EVENT_ID_REQUEST_IDS_MAX = 16;
/** ...in at most this many characters: the client sends the id back as a header, and a forged one costs a write per id. */
export const EVENT_ID_REQUEST_IDS_MAX_CHARS = 512;

const ENCODED = /^[A-Za-z0-9_-]+$/;

/** base64url of the ids' JSON, or undefined when there are none or too many to carry. */
function encodeRequestIds(ids: readonly JsonRpcId[] | undefined): string | undefined {
  if (ids === undefined || ids.length === 0 || ids.length > EVENT_ID_REQUEST_IDS_MAX) return undefined;
  const encoded = Buffer.from(JSON.stringify(ids)).toString('base64url');
  return encoded.length <= EVENT_ID_REQUEST_IDS_MAX_CHARS ? encoded : undefined;
}

function decodeRequestIds(encoded: string): JsonRpcId[] | undefined {
  if (encoded.length > EVENT_ID_REQUEST_IDS_MAX_CHARS || !ENCODED.test(encoded)) return undefined;
  const parsed = parseJson(Buffer.from(encoded, 'base64url').toString('utf8'));
  if (!parsed.ok || !Array.isArray(parsed.value) || !parsed.value.every(isJsonRpcId)) return undefined;
  const ids: JsonRpcId[] = parsed.value;
  // Only the one spelling formatEventId writes: no other text names the same stream and ids.
  return encodeRequestIds(ids) === encoded ? ids : undefined;
}

/**
 * SSE event ids are `<streamId>.<seq>`, and `<streamId>.<requestIds>.<seq>` for a POST stream:
 * stream ids are UUIDs or `_GET_stream` (no dots), `requestIds` the base64url of the JSON array of
 * the POST's JSON-RPC request ids (no dots either), and the sequence number is the event's place in
 * the stored stream, so any instance can resume from it. The ids let a resumer that finds nothing
 * stored (the writer died with its client attached, before storing anything) answer the requests
 * with an error instead of leaving the client to its timeout. Ids that do not fit the bounds are
 * left out (the plain form), as for the standalone stream.
 */
export function formatEventId(streamId: string, seq: number, requestIds?: readonly JsonRpcId[]): string {
  const encoded = streamId === STANDALONE_STREAM_ID ? undefined : encodeRequestIds(requestIds);
  return encoded === undefined ? `${streamId}.${seq}` : `${streamId}.${encoded}.${seq}`;
}

export interface ParsedEventId {
  streamId: string;
  seq: number;
  /** The POST's request ids, when the id carries them. */
  requestIds?: JsonRpcId[];
}

/** The stream, sequence number and request ids of an event id we issued; undefined for anything else. */
export function parseEventId(eventId: string): ParsedEventId | undefined {
  const parts = eventId.split('.');
  if (parts.length !== 2 && parts.length !== 3) return undefined;
  const streamId = parts[0] ?? '';
  const digits = parts.at(-1) ?? '';
  if (!/^(0|[1-9][0-9]{0,11})$/.test(digits) || !isServedStreamId(streamId)) return undefined;
  const seq = Number(digits);
  if (parts.length === 2) return { streamId, seq };
  const requestIds = streamId === STANDALONE_STREAM_ID ? undefined : decodeRequestIds(parts[1] ?? '');
  return requestIds === undefined ? undefined : { streamId, seq, requestIds };
}

/**
 * Seq 1 of every POST stream, in place of the SDK's empty priming message: which JSON-RPC requests
 * the stream answers (so a resumer knows when it is complete, and whom to send an error should
 * the work stop) and which instance runs them.
 */
export interface StreamHeader {
  mcpSessions: 'stream';
  requestIds: JsonRpcId[];
  instance?: string;
  /** Epoch ms on the writer's clock; for people reading the table, not for decisions. */
  at: number;
}

/** Written every heartbeat interval while a detached stream's work still runs: the writer is alive. */
export interface StreamHeartbeat {
  mcpSessions: 'heartbeat';
  instance?: string;
  at: number;
}

export type StreamMarker = StreamHeader | StreamHeartbeat;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Our markers carry `mcpSessions`; JSON-RPC messages always carry `jsonrpc` and never it. */
export const isStreamMarker = (message: unknown): message is StreamMarker =>
  isObject(message) && !('jsonrpc' in message) && (message.mcpSessions === 'stream' || message.mcpSessions === 'heartbeat');

export function asStreamHeader(message: unknown): StreamHeader | undefined {
  if (!isStreamMarker(message) || message.mcpSessions !== 'stream') return undefined;
  const ids = (message as { requestIds?: unknown }).requestIds;
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string' || typeof id === 'number')) return undefined;
  return message;
}

/** The id of a JSON-RPC response (result or error), or undefined when `message` is none. */
export function responseId(message: unknown): JsonRpcId | undefined {
  if (!isObject(message) || message.jsonrpc !== '2.0' || 'method' in message) return undefined;
  if (!('result' in message) && !('error' in message)) return undefined;
  const id = message.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/** Request ids compare by type and value (1 and "1" are different requests). */
export const requestKey = (id: JsonRpcId): string => `${typeof id}:${String(id)}`;
