/**
 * `mcp-sessions/mcp`: the MCP side. `sessionGate` applies the Streamable HTTP session rules of the
 * 2025 protocol versions in front of any Web-standard MCP handler, with sessions in a SessionStore;
 * `toNodeListener` serves it from Node's http server; `hostValidator` is the gate's DNS-rebinding
 * check, for use in front of other handlers too.
 */
export { sessionGate, SESSION_ID_HEADER, SESSION_PROTOCOL_VERSIONS, PROTOCOL_VERSION_HEADER, STORE_UNAVAILABLE_LOG, ownerForPrincipal } from './session-gate.js';
export type { GateContext, GateSession, McpHandler, SessionGateOptions } from './session-gate.js';
export { DEFAULT_ALLOWED_HOSTS, hostValidator, hostRefusedResponse } from './host-validation.js';
export type { HostRefusal, HostValidationOptions } from './host-validation.js';
export { toNodeListener } from './node-adapter.js';
export { withDeadline } from './store-deadline.js';
// 2026-07-28 request state (SEP-2322): signed, caller-bound, expiring tokens under rotating keys.
export * from './request-state/index.js';
