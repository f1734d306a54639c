import { createHmac, timingSafeEqual } from 'node:crypto';
import { epochSeconds, type Clock } from '../../clock.js';
import { callerBinding } from './caller-binding.js';
import { RequestStateError } from './errors.js';
import { assertUsableKey, type RequestStateKey, type RequestStateKeyProvider } from './keys.js';

/** What a request state may hold: anything JSON can carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface RequestStateCodecOptions {
  keys: RequestStateKeyProvider;
  clock: Clock;
  /** Lifetime of a sealed state unless `seal` says otherwise; default 600 s (the SDK's default). */
  ttlSeconds?: number;
  /** Longest token accepted (and minted); longer input is refused before any parsing or crypto. Default 16 KiB. */
  maxTokenChars?: number;
}

export interface SealOptions {
  /** The authenticated principal the state belongs to; '' for an anonymous caller. */
  caller: string;
  ttlSeconds?: number;
}

export interface OpenOptions {
  /** The principal presenting the token; it must be the one the state was sealed for. */
  caller: string;
}

export interface OpenedRequestState {
  state: JsonValue;
  /** Epoch seconds after which the token is refused: the TTL for a single-use ledger entry. */
  expiresAt: number;
  /** The id of the key that signed it (for metrics on rotation progress). */
  keyId: string;
}

const VERSION = 'rs1';
const MAC_CHARS = 43; // base64url of a 32-byte HMAC-SHA-256, unpadded
const TOKEN_SHAPE = /^rs1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const DEFAULT_TTL_SECONDS = 600;
const DEFAULT_MAX_TOKEN_CHARS = 16 * 1024;

interface Payload {
  v: 1;
  kid: string;
  exp: number;
  caller: string;
  state: JsonValue;
}

/**
 * Seals a JSON state into an opaque token for SEP-2322 multi-round-trip requests, and opens it
 * when the client echoes it, on any instance that shares the keys.
 *
 * Token: `rs1.<kid>.<base64url JSON {v, kid, exp, caller, state}>.<base64url HMAC-SHA-256>`, the
 * MAC taken over everything before the last dot. The kid travels in the clear so the verifier
 * finds the key without parsing untrusted JSON, and again inside the payload.
 *
 * Integrity-protected, NOT encrypted: the client can read the state. Keep secrets, credentials
 * and other users' data out of it; store them server-side and put a reference in the state.
 * A token is not single-use by itself: a state that must be consumed at most once needs a ledger.
 */
export class RequestStateCodec {
  private readonly keys: RequestStateKeyProvider;
  private readonly clock: Clock;
  private readonly ttlSeconds: number;
  private readonly maxTokenChars: number;

  constructor(options: RequestStateCodecOptions) {
    this.keys = options.keys;
    this.clock = options.clock;
    this.ttlSeconds = positiveInteger(options.ttlSeconds ?? DEFAULT_TTL_SECONDS, 'ttlSeconds');
    this.maxTokenChars = positiveInteger(options.maxTokenChars ?? DEFAULT_MAX_TOKEN_CHARS, 'maxTokenChars');
  }

  /** Throws RangeError if the state is not JSON or the token would exceed maxTokenChars. */
  async seal(state: JsonValue, options: SealOptions): Promise<string> {
    const ttl = positiveInteger(options.ttlSeconds ?? this.ttlSeconds, 'ttlSeconds');
    const key = await this.keys.signingKey();
    assertUsableKey(key, 'RequestStateCodec signing key');
    const payload: Payload = { v: 1, kid: key.id, exp: epochSeconds(this.clock) + ttl, caller: callerBinding(options.caller), state };
    const json = JSON.stringify(payload);
    const parsed: unknown = JSON.parse(json);
    // A state JSON cannot carry (undefined, a function) would silently vanish from the payload.
    if (!isPayload(parsed)) throw new RangeError('RequestStateCodec: the state is not a JSON value');
    const signed = `${VERSION}.${key.id}.${Buffer.from(json, 'utf8').toString('base64url')}`;
    const token = `${signed}.${mac(key, signed)}`;
    if (token.length > this.maxTokenChars) {
      throw new RangeError(`RequestStateCodec: the sealed state is ${token.length} characters; the limit is ${this.maxTokenChars}`);
    }
    return token;
  }

  /** Throws RequestStateError; checks run cheapest first, and nothing from the payload is trusted before the MAC. */
  async open(token: string, options: OpenOptions): Promise<OpenedRequestState> {
    if (typeof token !== 'string' || token.length > this.maxTokenChars) throw new RequestStateError('malformed');
    const shape = TOKEN_SHAPE.exec(token);
    if (shape === null) throw new RequestStateError('malformed');
    const [, kid, body, presentedMac] = shape;
    if (kid === undefined || body === undefined || presentedMac === undefined) throw new RequestStateError('malformed');

    const key = (await this.keys.verificationKeys()).find((candidate) => candidate.id === kid);
    if (key === undefined) throw new RequestStateError('unknown_key');
    assertUsableKey(key, 'RequestStateCodec verification key');
    const signed = token.slice(0, token.length - MAC_CHARS - 1);
    // Comparing the canonical text (not decoded bytes) also refuses a MAC whose unused low bits were changed.
    if (!timingSafeEqual(Buffer.from(mac(key, signed), 'ascii'), Buffer.from(presentedMac, 'ascii'))) {
      throw new RequestStateError('bad_signature');
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      throw new RequestStateError('malformed');
    }
    // Only a holder of the key can reach here with a bad payload; stay closed all the same.
    if (!isPayload(parsed) || parsed.kid !== kid) throw new RequestStateError('malformed');
    if (epochSeconds(this.clock) >= parsed.exp) throw new RequestStateError('expired');
    const expected = Buffer.from(callerBinding(options.caller), 'ascii');
    const actual = Buffer.from(parsed.caller, 'ascii');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) throw new RequestStateError('wrong_caller');
    return { state: parsed.state, expiresAt: parsed.exp, keyId: kid };
  }
}

function mac(key: RequestStateKey, signed: string): string {
  return createHmac('sha256', key.secret).update(signed, 'ascii').digest('base64url');
}

function isPayload(value: unknown): value is Payload {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    record['v'] === 1 &&
    typeof record['kid'] === 'string' &&
    Number.isSafeInteger(record['exp']) &&
    typeof record['caller'] === 'string' &&
    'state' in record
  );
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`RequestStateCodec: ${name} must be a positive integer`);
  return value;
}
