import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../../clock.js';
import { assertUsableKey, KEY_ID_PATTERN, MIN_SECRET_BYTES, type RequestStateKey, type RequestStateKeyProvider } from './keys.js';

/**
 * The key file, for local use (under .data/) and for hosts that mount a rotated secret as a file:
 *
 *     { "keys": [{ "id": "k2", "secret": "<base64>" }, { "id": "k1", "secret": "<base64>", "retired": true }],
 *       "current": "k2" }
 *
 * `current` signs; every key not retired verifies. Rotate by rewriting the file atomically (write
 * a temporary file, then rename it over this one): a half-written file is refused, not guessed at.
 */
export interface FileKeyProviderOptions {
  /** Decides when the file is read again; inject a manual clock in tests. */
  clock: Clock;
  /** How long a read is trusted before the file is read again; default 30 s. */
  refreshSeconds?: number;
}

const MAX_KEY_FILE_BYTES = 64 * 1024;
const DEFAULT_REFRESH_SECONDS = 30;

export interface RequestStateKeySet {
  current: RequestStateKey;
  verifying: readonly RequestStateKey[];
}

/**
 * Reads the file on first use and again once `refreshSeconds` have passed, so every instance picks
 * up a rotation within that time without a restart. No timer: the re-read happens on the next use.
 * A malformed or unreadable file makes the call throw an Error naming the path.
 */
export function fileKeyProvider(path: string, options: FileKeyProviderOptions): RequestStateKeyProvider {
  const refreshMs = (options.refreshSeconds ?? DEFAULT_REFRESH_SECONDS) * 1000;
  let cached: { keys: RequestStateKeySet; readAt: number } | undefined;
  let reading: Promise<RequestStateKeySet> | undefined;

  const load = async (): Promise<RequestStateKeySet> => {
    const now = options.clock();
    if (cached !== undefined && now - cached.readAt < refreshMs) return cached.keys;
    // Concurrent callers share one read.
    reading ??= readKeyFile(path).then(
      (keys) => {
        cached = { keys, readAt: now };
        reading = undefined;
        return keys;
      },
      (error: unknown) => {
        reading = undefined;
        throw error;
      },
    );
    return reading;
  };

  return {
    signingKey: async () => (await load()).current,
    verificationKeys: async () => (await load()).verifying,
  };
}

/** Reads and validates a key file; throws an Error naming the path (never a secret). */
export async function readKeyFile(path: string): Promise<RequestStateKeySet> {
  const fail = (why: string): never => {
    throw new Error(`request state key file ${path}: ${why}`);
  };
  let text: string;
  try {
    const info = await stat(path);
    if (info.size > MAX_KEY_FILE_BYTES) fail(`larger than ${MAX_KEY_FILE_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('request state key file')) throw error;
    return fail(`cannot be read (${error instanceof Error && 'code' in error ? String(error.code) : 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail('is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) return fail('must be a JSON object');
  const file = parsed as Record<string, unknown>;
  const entries = file['keys'];
  if (!Array.isArray(entries) || entries.length === 0) return fail('"keys" must be a non-empty array');
  const current = file['current'];
  if (typeof current !== 'string') return fail('"current" must be a key id');

  const ids = new Set<string>();
  const verifying: RequestStateKey[] = [];
  let signing: RequestStateKey | undefined;
  for (const [index, entry] of entries.entries()) {
    if (typeof entry !== 'object' || entry === null) return fail(`keys[${index}] must be an object`);
    const { id, secret, retired } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || !KEY_ID_PATTERN.test(id)) return fail(`keys[${index}].id must be 1-64 characters of [A-Za-z0-9_-]`);
    if (ids.has(id)) return fail(`key id "${id}" appears twice`);
    ids.add(id);
    if (typeof secret !== 'string') return fail(`key "${id}": "secret" must be a base64 string`);
    const bytes = Buffer.from(secret, 'base64');
    // Buffer.from skips what is not base64; insist the text was exactly that.
    if (bytes.toString('base64').replace(/=+$/, '') !== secret.replace(/=+$/, '')) return fail(`key "${id}": "secret" is not valid base64`);
    if (retired !== undefined && typeof retired !== 'boolean') return fail(`key "${id}": "retired" must be a boolean`);
    const key: RequestStateKey = { id, secret: new Uint8Array(bytes) };
    assertUsableKey(key, `request state key file ${path}`);
    if (retired === true) {
      if (id === current) return fail(`the current key "${id}" is retired`);
      continue;
    }
    verifying.push(key);
    if (id === current) signing = key;
  }
  if (signing === undefined) return fail(`"current" names no key in the file`);
  return { current: signing, verifying };
}

/**
 * Creates a key file with one fresh random key (mode 0600) unless one exists; returns whether it
 * created it. For local runs under .data/; deployed instances share a managed secret instead.
 */
export async function generateKeyFile(path: string): Promise<boolean> {
  await mkdir(dirname(path), { recursive: true });
  const id = `k-${randomBytes(6).toString('hex')}`;
  const body = `${JSON.stringify({ keys: [{ id, secret: randomBytes(MIN_SECRET_BYTES).toString('base64') }], current: id }, null, 2)}\n`;
  try {
    // 'wx' fails if the file exists, so two processes starting together keep one key, not two.
    await writeFile(path, body, { mode: 0o600, flag: 'wx' });
    return true;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'EEXIST') return false;
    throw error;
  }
}

/** Replaces a key file atomically (temporary file, then rename), so readers never see half of it. */
export async function writeKeyFile(path: string, contents: { keys: { id: string; secret: string; retired?: boolean }[]; current: string }): Promise<void> {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await rename(temporary, path);
}
