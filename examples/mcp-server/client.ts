/**
 * `npm run example:client`: the official MCP SDK client against the example server. It asks for
 * log messages, answers the server's sampling requests itself (a canned reply, no LLM), runs the
 * tools that talk back (logging, progress, sampling), then calls a tool every second for a while.
 * Restart `npm run example` meanwhile, or run several behind a load balancer: the session carries on.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { sessionTag } from 'mcp-sessions';

const url = new URL(process.env.MCP_URL || 'http://127.0.0.1:3001/mcp');
const rounds = Number(process.env.ROUNDS || 30);
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { 'x-demo-user': 'demo' } } });
const client = new Client({ name: 'example-client', version: '1.0.0' }, { capabilities: { sampling: {} } });

/** The text of a content block (or the first of a list), for printing. */
const textOf = (content: unknown): string => {
  const first: unknown = Array.isArray(content) ? content[0] : content;
  return typeof first === 'object' && first !== null && 'text' in first && typeof first.text === 'string' ? first.text : '(no text)';
};
const firstText = (result: unknown): string => textOf(typeof result === 'object' && result !== null && 'content' in result ? result.content : undefined);

// The server's sampling request reaches this client on the tool call's stream; the answer is
// POSTed back to whichever instance the load balancer picks, and relayed to the one waiting.
client.setRequestHandler(CreateMessageRequestSchema, (request) => {
  const asked = request.params.messages.map((message) => textOf(message.content)).join(' ');
  console.log(`  the server asks this client to sample: "${asked}"`);
  return { role: 'assistant', content: { type: 'text', text: 'a canned answer from the example client' }, model: 'none', stopReason: 'endTurn' };
});
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  console.log(`  log ${notification.params.level}: ${JSON.stringify(notification.params.data)}`);
});

await client.connect(transport);
// Session ids are bearer secrets: print a short hash to tell sessions apart, never the id.
const tag = () => (transport.sessionId ? sessionTag(transport.sessionId) : 'none');
console.log(`connected to ${url.href}; session ${tag()}`);

// Kept with the session, not in an instance: every instance filters this session's logs by it.
await client.setLoggingLevel('info');
console.log(`test_tool_with_logging -> ${firstText(await client.callTool({ name: 'test_tool_with_logging' }))}`);
const progress = await client.callTool({ name: 'test_tool_with_progress' }, undefined, {
  onprogress: ({ progress: done, total }) => console.log(`  progress ${done}/${total ?? '?'}`),
});
console.log(`test_tool_with_progress -> ${firstText(progress)}`);
console.log(`test_sampling -> ${firstText(await client.callTool({ name: 'test_sampling', arguments: { prompt: 'Say hello' } }))}`);

for (let round = 1; round <= rounds; round++) {
  try {
    const result = await client.callTool({ name: 'session_info' });
    console.log(`#${round} session ${tag()} -> ${firstText(result)}`);
  } catch (error) {
    console.log(`#${round} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}
await transport.terminateSession();
await client.close();
