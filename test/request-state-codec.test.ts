import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fileKeyProvider,
  generateKeyFile,
  readKeyFile,
  RequestStateCodec,
  RequestStateError,
  requestStateSeam,
  staticKeyProvider,
  writeKeyFile,
  type JsonValue,
  type RequestStateKey,
  type RequestStateKeyProvider,
  type RequestStateProblem,
} from '../lib/mcp/request-state/index.js';
import { ManualClock } from './support/fakes.js';

const key = (id: string): RequestStateKey => ({ id, secret: randomBytes(32) });
const k1 = key('k1');
const k2 = key('k2');

/** Counts provider calls, to show what is refused before any key is looked up. */
function counting(provider: RequestStateKeyProvider): RequestStateKeyProvider & { lookups: () => number } {
  let lookups = 0;
  return {
    signingKey: () => provider.signingKey(),
    verificationKeys: () => {
      lookups++;
      return provider.verificationKeys();
    },
    lookups: () => lookups,
  };
}

async function problemOf(promise: Promise<unknown>): Promise<RequestStateProblem | 'accepted'> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (error instanceof RequestStateError) return error.problem;
    throw error;
  }
}

/** Swaps the character at `index` for another one, keeping the token's alphabet. */
function changeAt(token: string, index: number, shift = 1): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const at = alphabet.indexOf(token[index] ?? '');
  const replacement = at === -1 ? 'A' : (alphabet[(at + shift) % alphabet.length] ?? 'A');
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

const parts = (token: string): string[] => token.split('.');
const encodePayload = (payload: unknown): string => Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
const decodePayload = (token: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(parts(token)[2] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

describe('RequestStateCodec', () => {
  const clock = new ManualClock(1_800_000_000_000);
  const codec = new RequestStateCodec({ keys: staticKeyProvider({ current: k1 }), clock: clock.now, ttlSeconds: 60 });
  const state: JsonValue = { step: 2, answers: ['yes', null], nested: { ok: true, n: -1.5 } };

  it('round-trips a state for the same caller, with its expiry and key id', async () => {
    const token = await codec.seal(state, { caller: 'alice' });
    expect(token).toMatch(/^rs1\.k1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const opened = await codec.open(token, { caller: 'alice' });
    expect(opened).toEqual({ state, expiresAt: clock.seconds + 60, keyId: 'k1' });
  });

  it('carries a digest of the caller, never the caller itself', async () => {
    const token = await codec.seal(state, { caller: 'alice@example.com' });
    expect(Buffer.from(parts(token)[2] ?? '', 'base64url').toString('utf8')).not.toContain('alice');
  });

  it('refuses a token presented by another caller', async () => {
    const token = await codec.seal(state, { caller: 'alice' });
    expect(await problemOf(codec.open(token, { caller: 'bob' }))).toBe('wrong_caller');
    expect(await problemOf(codec.open(token, { caller: '' }))).toBe('wrong_caller');
    expect(await problemOf(codec.open(token, { caller: 'alice ' }))).toBe('wrong_caller');
  });

  it('refuses a token at and after its expiry, on the injected clock', async () => {
    const local = new ManualClock(1_800_000_000_000);
    const short = new RequestStateCodec({ keys: staticKeyProvider({ current: k1 }), clock: local.now, ttlSeconds: 10 });
    const token = await short.seal(state, { caller: 'alice' });
    local.advance(9);
    expect((await short.open(token, { caller: 'alice' })).state).toEqual(state);
    local.advance(1);
    expect(await problemOf(short.open(token, { caller: 'alice' }))).toBe('expired');
    const longer = await short.seal(state, { caller: 'alice', ttlSeconds: 3600 });
    local.advance(3599);
    expect((await short.open(longer, { caller: 'alice' })).state).toEqual(state);
  });

  it('refuses a tampered state, signature or key id', async () => {
    const token = await codec.seal(state, { caller: 'alice' });
    const [version, kid, , mac] = parts(token);
    const forged = encodePayload({ ...decodePayload(token), state: { step: 99 } });
    expect(await problemOf(codec.open(`${version}.${kid}.${forged}.${mac}`, { caller: 'alice' }))).toBe('bad_signature');
    // A MAC changed by one character.
    expect(await problemOf(codec.open(`${version}.${kid}.${parts(token)[2]}.${changeAt(mac ?? '', 0)}`, { caller: 'alice' }))).toBe('bad_signature');
    expect(await problemOf(codec.open(`${version}.k9.${parts(token)[2]}.${mac}`, { caller: 'alice' }))).toBe('unknown_key');

    // Pointing the kid at another key the server holds does not help either.
    const both = new RequestStateCodec({ keys: staticKeyProvider({ current: k1, previous: [k2] }), clock: clock.now });
    expect(await problemOf(both.open(`${version}.k2.${parts(token)[2]}.${mac}`, { caller: 'alice' }))).toBe('bad_signature');
  });

  it('refuses a token whose last MAC character differs only in unused bits', async () => {
    const token = await codec.seal(state, { caller: 'alice' });
    // The 43rd base64url character holds 4 bits of MAC and 2 unused bits: flip only those.
    const last = token.at(-1) ?? 'A';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A';
    expect(Buffer.from(token.slice(-43, -1) + sibling, 'base64url')).toEqual(Buffer.from(token.slice(-43), 'base64url'));
    expect(await problemOf(codec.open(token.slice(0, -1) + sibling, { caller: 'alice' }))).toBe('bad_signature');
  });

  it('refuses oversized and malformed tokens before looking up any key', async () => {
    const keys = counting(staticKeyProvider({ current: k1 }));
    const small = new RequestStateCodec({ keys, clock: clock.now, maxTokenChars: 512 });
    const good = await small.seal('x', { caller: 'alice' });
    const hostile = [
      '',
      'rs1',
      'rs1..x.y',
      `rs2${good.slice(3)}`,
      `${good}.`,
      good.replace('.', '..'),
      `${good.slice(0, -1)}=`,
      `rs1.${'k'.repeat(65)}.${parts(good)[2]}.${parts(good)[3]}`,
      'rs1.k1.é.' + 'A'.repeat(43),
      `${good}${'A'.repeat(600)}`,
      'x'.repeat(10_000_000),
    ];
    for (const token of hostile) expect(await problemOf(small.open(token, { caller: 'alice' }))).toBe('malformed');
    expect(keys.lookups()).toBe(0);
    await expect(small.seal('y'.repeat(600), { caller: 'alice' })).rejects.toThrow(RangeError);
  });

  it('refuses a correctly signed payload of the wrong shape as malformed', async () => {
    // Only a key holder could produce one; the codec still fails closed.
    const { createHmac } = await import('node:crypto');
    const body = encodePayload({ v: 2, kid: 'k1', exp: clock.seconds + 60, caller: 'x', state: 1 });
    const signed = `rs1.k1.${body}`;
    const token = `${signed}.${createHmac('sha256', k1.secret).update(signed).digest('base64url')}`;
    expect(await problemOf(codec.open(token, { caller: 'alice' }))).toBe('malformed');
  });

  it('never puts the state or the token in the error message', async () => {
    const token = await codec.seal({ secretish: 'PAYLOAD-MARKER' }, { caller: 'alice' });
    const error = await codec.open(token, { caller: 'mallory' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RequestStateError);
    expect(String(error)).toBe('RequestStateError: request state refused: wrong_caller');
    expect(JSON.stringify(error)).not.toContain('PAYLOAD-MARKER');
  });

  it('refuses keys with short secrets or bad ids, and duplicate ids', () => {
    expect(() => staticKeyProvider({ current: { id: 'short', secret: randomBytes(31) } })).toThrow(/at least 32 bytes/);
    expect(() => staticKeyProvider({ current: { id: 'bad id', secret: randomBytes(32) } })).toThrow(/key id/);
    expect(() => staticKeyProvider({ current: k1, previous: [k1] })).toThrow(/twice/);
  });

  it('refuses a signing key with a short secret from any provider', async () => {
    const weak: RequestStateKeyProvider = {
      signingKey: () => Promise.resolve({ id: 'weak', secret: randomBytes(16) }),
      verificationKeys: () => Promise.resolve([]),
    };
    await expect(new RequestStateCodec({ keys: weak, clock: clock.now }).seal(1, { caller: '' })).rejects.toThrow(/at least 32 bytes/);
  });

  it('property: any JSON state round-trips for its caller', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.string(), async (value, caller) => {
        const json = value as JsonValue;
        const token = await codec.seal(json, { caller });
        const opened = await codec.open(token, { caller });
        expect(opened.state).toEqual(JSON.parse(JSON.stringify(json)));
      }),
      { numRuns: 200 },
    );
  });

  it('property: any single-character change is refused', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.integer({ min: 1, max: 63 }), fc.boolean(), async (value, position, shift, anyChar) => {
        const token = await codec.seal(value as JsonValue, { caller: 'alice' });
        const index = position % token.length;
        const changed = anyChar
          ? token.slice(0, index) + String.fromCharCode((token.charCodeAt(index) + shift) % 0x10000) + token.slice(index + 1)
          : changeAt(token, index, shift);
        if (changed === token) return;
        expect(['malformed', 'unknown_key', 'bad_signature']).toContain(await problemOf(codec.open(changed, { caller: 'alice' })));
      }),
      { numRuns: 500 },
    );
  });
});

describe('key rotation', () => {
  const clock = new ManualClock(1_800_000_000_000);

  it('signs with the new key while the previous still verifies, and refuses it once retired', async () => {
    const before = new RequestStateCodec({ keys: staticKeyProvider({ current: k1 }), clock: clock.now });
    const during = new RequestStateCodec({ keys: staticKeyProvider({ current: k2, previous: [k1] }), clock: clock.now });
    const after = new RequestStateCodec({ keys: staticKeyProvider({ current: k2 }), clock: clock.now });

    const old = await before.seal({ n: 1 }, { caller: 'alice' });
    const fresh = await during.seal({ n: 2 }, { caller: 'alice' });
    expect(parts(fresh)[1]).toBe('k2');
    expect(decodePayload(fresh)['kid']).toBe('k2');

    expect(await during.open(old, { caller: 'alice' })).toMatchObject({ state: { n: 1 }, keyId: 'k1' });
    expect(await during.open(fresh, { caller: 'alice' })).toMatchObject({ state: { n: 2 }, keyId: 'k2' });
    expect(await problemOf(after.open(old, { caller: 'alice' }))).toBe('unknown_key');
    expect((await after.open(fresh, { caller: 'alice' })).state).toEqual({ n: 2 });
  });
});

describe('fileKeyProvider', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'request-state-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const entry = (k: RequestStateKey, retired?: boolean): { id: string; secret: string; retired?: boolean } =>
    retired === undefined ? { id: k.id, secret: Buffer.from(k.secret).toString('base64') } : { id: k.id, secret: Buffer.from(k.secret).toString('base64'), retired };

  it('generates a 0600 key file once, and keeps an existing one', async () => {
    const path = join(dir, 'nested', '.data', 'request-state-keys.json');
    expect(await generateKeyFile(path)).toBe(true);
    const first = await readFile(path, 'utf8');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await generateKeyFile(path)).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(first);
    const keys = await readKeyFile(path);
    expect(keys.current.secret.byteLength).toBe(32);
    expect(keys.verifying).toEqual([keys.current]);
  });

  it('picks up a rotated file after the refresh interval, through a whole rotation', async () => {
    const path = join(dir, 'rotating.json');
    const clock = new ManualClock(1_800_000_000_000);
    await writeKeyFile(path, { keys: [entry(k1)], current: 'k1' });
    const codec = new RequestStateCodec({ keys: fileKeyProvider(path, { clock: clock.now, refreshSeconds: 30 }), clock: clock.now, ttlSeconds: 3600 });
    const old = await codec.seal('old', { caller: 'alice' });

    // Step 1: k2 published and made current; k1 still verifies.
    await writeKeyFile(path, { keys: [entry(k2), entry(k1)], current: 'k2' });
    expect(parts(await codec.seal('x', { caller: 'alice' }))[1]).toBe('k1'); // not re-read yet
    clock.advance(30);
    const fresh = await codec.seal('fresh', { caller: 'alice' });
    expect(parts(fresh)[1]).toBe('k2');
    expect((await codec.open(old, { caller: 'alice' })).state).toBe('old');

    // Step 2: k1 retired.
    await writeKeyFile(path, { keys: [entry(k2), entry(k1, true)], current: 'k2' });
    clock.advance(30);
    expect(await problemOf(codec.open(old, { caller: 'alice' }))).toBe('unknown_key');
    expect((await codec.open(fresh, { caller: 'alice' })).state).toBe('fresh');
  });

  it('refuses malformed files with a message naming the path and never a secret', async () => {
    const clock = new ManualClock();
    const cases: [unknown, RegExp][] = [
      ['not json', /is not JSON/],
      [[], /"keys" must be a non-empty array/],
      [{ keys: [], current: 'k1' }, /"keys" must be a non-empty array/],
      [{ keys: [entry(k1)] }, /"current" must be a key id/],
      [{ keys: [entry(k1)], current: 'k2' }, /"current" names no key/],
      [{ keys: [entry(k1, true), entry(k2)], current: 'k1' }, /current key "k1" is retired/],
      [{ keys: [entry(k1), entry(k1)], current: 'k1' }, /appears twice/],
      [{ keys: [{ id: 'k1', secret: randomBytes(16).toString('base64') }], current: 'k1' }, /at least 32 bytes/],
      [{ keys: [{ id: 'k1', secret: '!!not base64!!' }], current: 'k1' }, /not valid base64/],
      [{ keys: [{ id: 'k 1', secret: entry(k1).secret }], current: 'k 1' }, /id must be/],
      [{ keys: [{ ...entry(k1), retired: 'yes' }], current: 'k1' }, /"retired" must be a boolean/],
    ];
    for (const [index, [contents, message]] of cases.entries()) {
      const path = join(dir, `bad-${index}.json`);
      await writeFile(path, typeof contents === 'string' ? contents : JSON.stringify(contents));
      const provider = fileKeyProvider(path, { clock: clock.now });
      const error = await provider.signingKey().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Error);
      expect(String(error)).toContain(path);
      expect(String(error)).toMatch(message);
      expect(String(error)).not.toContain(entry(k1).secret);
    }
    const missing = join(dir, 'missing.json');
    await expect(fileKeyProvider(missing, { clock: clock.now }).verificationKeys()).rejects.toThrow(`request state key file ${missing}: cannot be read (ENOENT)`);
    const huge = join(dir, 'huge.json');
    await writeFile(huge, ' '.repeat(70_000));
    await expect(readKeyFile(huge)).rejects.toThrow(/larger than/);
  });
});

describe('requestStateSeam (the SDK v2 RequestStateCodec shape)', () => {
  interface Ctx {
    http?: { authInfo?: { clientId: string } };
  }
  const clock = new ManualClock();
  const codec = new RequestStateCodec({ keys: staticKeyProvider({ current: k1 }), clock: clock.now });
  const seam = requestStateSeam<Ctx>(codec, (ctx) => ctx.http?.authInfo?.clientId ?? '');

  it('mints for the context caller and verifies only for that caller', async () => {
    const alice: Ctx = { http: { authInfo: { clientId: 'alice' } } };
    const token = await seam.mint({ round: 1 }, alice);
    expect(await seam.verify(token, alice)).toEqual({ round: 1 });
    await expect(seam.verify(token, { http: { authInfo: { clientId: 'bob' } } })).rejects.toThrow('request state refused: wrong_caller');
    await expect(seam.mint({ round: 1 })).rejects.toThrow(TypeError);
  });
});
