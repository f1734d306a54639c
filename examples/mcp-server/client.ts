/**
 * `npm run example:client`: the official MCP SDK client against the example server, calling a tool
 * every second for a while. Restart `npm run example` meanwhile: the session carries on.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = new URL(process.env.MCP_URL || 'http://127.0.0.1:3001/mcp');
const rounds = Number(process.env.ROUNDS || 30);
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { 'x-demo-user': 'demo' } } });
const client = new Client({ name: 'example-client', version: '1.0.0' });

await client.connect(transport);
console.log(`connected to ${url.href}; session ${transport.sessionId?.slice(0, 8)}…`);
for (let round = 1; round <= rounds; round++) {
  try {
    const result = await client.callTool({ name: 'session_info' });
    const text = (result.content as { text: string }[])[0]?.text;
    console.log(`#${round} session ${transport.sessionId?.slice(0, 8)}… -> ${text}`);
  } catch (error) {
    console.log(`#${round} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
await transport.terminateSession();
await client.close();
