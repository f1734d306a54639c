/**
 * `npm run example:client`: the official MCP SDK client against the example server, calling a tool
 * every second for a while. Restart `npm run example` meanwhile: the session carries on.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { sessionTag } from 'mcp-sessions';

const url = new URL(process.env.MCP_URL || 'http://127.0.0.1:3001/mcp');
const rounds = Number(process.env.ROUNDS || 30);
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { 'x-demo-user': 'demo' } } });
const client = new Client({ name: 'example-client', version: '1.0.0' });

await client.connect(transport);
// Session ids are bearer secrets: print a short hash to tell sessions apart, never the id.
const tag = () => (transport.sessionId ? sessionTag(transport.sessionId) : 'none');
console.log(`connected to ${url.href}; session ${tag()}`);
for (let round = 1; round <= rounds; round++) {
  try {
    const result = await client.callTool({ name: 'session_info' });
    const first: unknown = Array.isArray(result.content) ? result.content[0] : undefined;
    const text = typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string' ? first.text : '(no text)';
    console.log(`#${round} session ${tag()} -> ${text}`);
  } catch (error) {
    console.log(`#${round} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
await transport.terminateSession();
await client.close();
