/**
 * The "everything" MCP server: every kind of tool, resource and prompt the MCP conformance suite
 * exercises, plus the example's own `echo` and `session_info`. Built anew for each request (the
 * instances keep nothing per session), so the schemas and payloads are built once, at load.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GateSession } from 'mcp-sessions/mcp';
import { registerBasicTools } from './basic-tools.js';
import { registerContentTools } from './content-tools.js';
import { registerInteractiveTools } from './interactive-tools.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';

const SERVER_INFO = { name: 'mcp-sessions-example', version: '1.0.0' };
const OPTIONS = {
  capabilities: { logging: {}, completions: {}, tools: {}, prompts: {}, resources: { subscribe: true } },
  instructions: 'An example MCP server whose sessions live in mcp-sessions: any instance serves any session.',
};

export function buildEverythingServer(session: GateSession | undefined, instance: string): McpServer {
  const server = new McpServer(SERVER_INFO, OPTIONS);
  registerBasicTools(server, { instance, session });
  registerContentTools(server);
  registerInteractiveTools(server);
  registerResources(server);
  registerPrompts(server);
  return server;
}
