/**
 * `mcp-sessions/cdk`: the session service as a CDK construct for your own stack. Needs the optional
 * peer dependencies `aws-cdk-lib` and `constructs`; nothing else at synth (the handlers ship pre-bundled).
 */
export { McpSessionService } from './mcp-session-service.js';
export type { InProcessGrantee, McpSessionServiceProps } from './mcp-session-service.js';
export type { HandlerCode } from './handler-code.js';
export type { EnvironmentSettings, EnvironmentSettingName } from './function-environment.js';
export { InvalidSettingError } from './settings.js';
export type { InfraSettings } from './settings.js';
export { Operations } from './operations.js';
export type { OperationsProps } from './operations.js';
export { IN_PROCESS_TABLE_ACTIONS, TABLE_ACTIONS } from './table-access.js';
export { TABLE_KEY_ACTIONS } from './table-encryption.js';
export type { RouteName } from '../lib/routes.js';
