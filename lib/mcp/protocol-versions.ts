/**
 * Which MCP-Protocol-Version a request speaks, and what the gate does with it. The 2025 versions
 * of Streamable HTTP have sessions; a version without sessions is passed through only when the
 * deployer lists it; anything else is refused, as the spec requires for an unsupported version.
 */

/** The protocol versions whose Streamable HTTP transport has sessions. */
export const SESSION_PROTOCOL_VERSIONS: readonly string[] = ['2025-11-25', '2025-06-18', '2025-03-26'];

export const PROTOCOL_VERSION_HEADER = 'mcp-protocol-version';

export interface VersionPolicy {
  /** Versions the gate keeps sessions for. */
  sessionVersions: readonly string[];
  /** Versions without sessions, passed to the handler untouched (opt-in). */
  sessionlessVersions: readonly string[];
}

export type RequestVersion =
  /** `version` undefined: no header; on a session, the version negotiated for it applies (spec: backwards compatibility). */
  | { kind: 'session'; version: string | undefined }
  | { kind: 'sessionless'; version: string }
  | { kind: 'unsupported' };

export function requestVersion(request: Request, policy: VersionPolicy): RequestVersion {
  const version = request.headers.get(PROTOCOL_VERSION_HEADER)?.trim() ?? '';
  if (version === '') return { kind: 'session', version: undefined };
  if (policy.sessionVersions.includes(version)) return { kind: 'session', version };
  if (policy.sessionlessVersions.includes(version)) return { kind: 'sessionless', version };
  return { kind: 'unsupported' };
}

/** A version in both lists would make the gate's answer depend on list order: refuse it up front. */
export function checkVersionPolicy(policy: VersionPolicy): VersionPolicy {
  const both = policy.sessionlessVersions.filter((version) => policy.sessionVersions.includes(version));
  if (both.length > 0) throw new RangeError(`sessionGate: ${both.join(', ')} cannot be both a session version and a sessionless one`);
  if (policy.sessionVersions.length === 0) throw new RangeError('sessionGate: sessionVersions must list at least one version');
  return policy;
}
