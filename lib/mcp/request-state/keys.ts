/**
 * Signing keys for request state. Every instance behind the balancer must hold the same keys, so
 * they come from a provider (a file locally, a rotated secret in the stack) rather than from the
 * process. Rotation: publish the new key as a verification key, let every instance pick it up,
 * make it current (it signs from then on while the old one still verifies), and retire the old
 * one once every token it signed has expired.
 */
export interface RequestStateKey {
  /** Travels in every token so a verifier picks the right secret; [A-Za-z0-9_-], 1-64 chars. */
  readonly id: string;
  readonly secret: Uint8Array;
}

export interface RequestStateKeyProvider {
  /** The key new tokens are signed with. */
  signingKey(): Promise<RequestStateKey>;
  /** Every key a token may still be signed with (the signing key included); retired keys are absent. */
  verificationKeys(): Promise<readonly RequestStateKey[]>;
}

/** HMAC-SHA-256 keys shorter than its output would be the weakest link; the SDK's codec asks the same. */
export const MIN_SECRET_BYTES = 32;

export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Throws a message naming `where` (never the secret) when a key is unusable. */
export function assertUsableKey(key: RequestStateKey, where: string): void {
  if (!KEY_ID_PATTERN.test(key.id)) {
    throw new Error(`${where}: key id must be 1-64 characters of [A-Za-z0-9_-]`);
  }
  if (key.secret.byteLength < MIN_SECRET_BYTES) {
    throw new Error(`${where}: key "${key.id}" has a ${key.secret.byteLength}-byte secret; at least ${MIN_SECRET_BYTES} bytes are required`);
  }
}

export interface StaticKeys {
  /** The signing key. */
  readonly current: RequestStateKey;
  /** Keys that still verify but no longer sign (the previous key during a rotation). */
  readonly previous?: readonly RequestStateKey[];
}

/** Keys fixed for the life of the process: for tests and for deployments that restart to rotate. */
export function staticKeyProvider(keys: StaticKeys): RequestStateKeyProvider {
  const all = [keys.current, ...(keys.previous ?? [])];
  const ids = new Set<string>();
  for (const key of all) {
    assertUsableKey(key, 'staticKeyProvider');
    if (ids.has(key.id)) throw new Error(`staticKeyProvider: key id "${key.id}" appears twice`);
    ids.add(key.id);
  }
  const current = keys.current;
  return {
    signingKey: () => Promise.resolve(current),
    verificationKeys: () => Promise.resolve(all),
  };
}
