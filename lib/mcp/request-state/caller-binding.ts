import { createHash } from 'node:crypto';

/**
 * Tokens carry this digest of the caller principal, not the principal itself: the token is
 * readable by the client, and a principal may be an email address or anything else a server
 * would rather not echo. The prefix keeps these digests apart from any other SHA-256 of the same
 * string (the session owner digest included); UTF-16 code units are hashed so every JavaScript
 * string, even one with a lone surrogate, has its own digest.
 */
const DOMAIN = 'mcp-sessions/request-state/caller/v1\n';

export const callerBinding = (principal: string): string =>
  createHash('sha256').update(DOMAIN, 'utf8').update(principal, 'utf16le').digest('base64url');
