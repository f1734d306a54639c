/** Tools that answer with fixed content of each kind: text, image, audio, embedded resource, an error. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { audio, image, text } from './media.js';

const simpleText: CallToolResult = { content: [text('This is a simple text response for testing.')] };
const imageResult: CallToolResult = { content: [image] };
const audioResult: CallToolResult = { content: [audio] };
const embeddedResource: CallToolResult = {
  content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
};
const mixedContent: CallToolResult = {
  content: [
    text('Multiple content types test:'),
    image,
    { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
  ],
};
const errorResult: CallToolResult = { isError: true, content: [text('This tool intentionally returns an error for testing')] };

export function registerContentTools(server: McpServer): void {
  server.registerTool('test_simple_text', { description: 'Returns a simple text response' }, () => simpleText);
  server.registerTool('test_image_content', { description: 'Returns a PNG image' }, () => imageResult);
  server.registerTool('test_audio_content', { description: 'Returns a WAV audio clip' }, () => audioResult);
  server.registerTool('test_embedded_resource', { description: 'Returns an embedded text resource' }, () => embeddedResource);
  server.registerTool('test_multiple_content_types', { description: 'Returns text, an image and an embedded resource' }, () => mixedContent);
  // A tool failure is a result with isError (the model sees it), not a JSON-RPC error.
  server.registerTool('test_error_handling', { description: 'Always fails, reporting the error in its result' }, () => errorResult);
}
