import { createHash } from 'node:crypto';

/**
 * Sessions are bound to this digest of the principal rather than to the principal itself: the
 * owner travels in an HTTP header to the session service, and a principal may hold anything
 * (unicode, spaces at its ends, kilobytes) that a header cannot carry intact. The prefix keeps
 * these digests apart from any other SHA-256 of the same string; UTF-16 code units are hashed so
 * that every JavaScript string, even one with a lone surrogate, has its own digest.
 */
const DOMAIN = 'mcp-sessions/session-gate/owner/v1\n';

export const ownerForPrincipal = (principal: string): string =>
  createHash('sha256').update(DOMAIN, 'utf8').update(principal, 'utf16le').digest('hex');
