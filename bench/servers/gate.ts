/**
 * Bench server: the echo server behind sessionGate. STORE=in-process uses the DynamoDB store from
 * the MCP_SESSIONS_* environment (as `sessionStoreFromEnvironment` users do); STORE=http uses
 * SessionClient against SESSIONS_URL (the local API of `npm start`, unsigned); STORE=memory keeps
 * sessions in a Map, to tell the gate's own cost from its store's. CHECK_CACHE_MAX_AGE_MS wraps the
 * store in SessionCheckCache.
 */
import { sessionStoreFromEnvironment } from '../../lib/in-process.js';
import { sessionGate } from '../../lib/mcp/session-gate.js';
import { DEFAULT_TTL_SECONDS } from '../../lib/dynamo-session-store.js';
import { SessionCheckCache } from '../../lib/session-check-cache.js';
import { SessionClient } from '../../lib/session-client.js';
import { newSessionId } from '../../lib/session-id.js';
import type { SessionStore } from '../../lib/session-store.js';
import { echoMcp, serve } from './echo-mcp.js';

/** The gate's own cost, with no store behind it: sessions in a Map (one process only; a bench-only stand-in). */
function memoryStore(): SessionStore {
  const sessions = new Map<string, { owner: string | undefined; metadata: Record<string, unknown> | undefined }>();
  const expiresAt = () => Math.floor(Date.now() / 1000) + 3600;
  return {
    start: async (options = {}) => {
      const sessionId = newSessionId();
      sessions.set(sessionId, { owner: options.owner, metadata: options.metadata });
      return { sessionId, expiresAt: expiresAt() };
    },
    check: async (sessionId, options = {}) => {
      const session = sessions.get(sessionId);
      if (session === undefined || session.owner !== options.owner) return { active: false };
      return { active: true, expiresAt: expiresAt(), ...(session.metadata ? { metadata: session.metadata } : {}) };
    },
    destroy: async (sessionId) => sessions.delete(sessionId),
    updateState: async () => ({ active: false }),
  };
}

function storeFromEnv(): SessionStore {
  if (process.env.STORE === 'memory') return memoryStore();
  if (process.env.STORE === 'in-process') return sessionStoreFromEnvironment(process.env);
  if (process.env.STORE === 'http') return new SessionClient({ baseUrl: process.env.SESSIONS_URL ?? '', signing: { kind: 'none' } });
  throw new Error(`STORE must be in-process or http, not ${process.env.STORE}`);
}

/** CHECK_CACHE_MAX_AGE_MS (0 = coalescing only) puts the check cache in front of the store. */
function withCheckCache(store: SessionStore): SessionStore {
  const maxAge = process.env.CHECK_CACHE_MAX_AGE_MS;
  if (maxAge === undefined || maxAge === '') return store;
  // The local API keeps the service's default TTL; the in-process store says its own.
  return new SessionCheckCache(store, { maxAgeMs: Number(maxAge), ...(store instanceof SessionClient ? { ttlSeconds: DEFAULT_TTL_SECONDS } : {}) });
}

const store = withCheckCache(storeFromEnv());
const handler = sessionGate(
  { store, principalOf: (request) => request.headers.get('x-demo-user') ?? undefined, requireOwner: true },
  (request, { parsedBody }) => echoMcp(request, parsedBody),
);
serve(`gate (${process.env.STORE})`, handler);
