/** What every session store offers: the DynamoDB one here, and any stand-in with the same contract. */
export interface SessionStore {
  /** Mints and stores a new session. Throws StoreUnavailableError if it could not be stored. */
  start(): Promise<StartedSession>;
  /** Active or not, sliding the expiry when it is past half its TTL. Malformed ids are inactive. */
  check(sessionId: string): Promise<SessionStatus>;
  /** Ends the session; ending an unknown one is not an error. */
  destroy(sessionId: string): Promise<void>;
}

export interface StartedSession {
  sessionId: string;
  /** Epoch seconds. */
  expiresAt: number;
}

export type SessionStatus = { active: true; expiresAt: number } | { active: false };
