/** Prompts: plain, with arguments (the first one completable), with an embedded resource, with an image. */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { image, text } from './media.js';

const ARG1_SUGGESTIONS = ['paris', 'park', 'party', 'test', 'testing'] as const;
const withArguments = {
  arg1: completable(z.string().describe('First test argument'), (value) => ARG1_SUGGESTIONS.filter((word) => word.startsWith(value))),
  arg2: z.string().describe('Second test argument'),
};
const withResource = { resourceUri: z.string().describe('URI of the resource to embed') };

const simple: GetPromptResult = { messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }] };
const withImage: GetPromptResult = {
  messages: [
    { role: 'user', content: image },
    { role: 'user', content: text('Please analyze the image above.') },
  ],
};

export function registerPrompts(server: McpServer): void {
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, () => simple);
  server.registerPrompt('test_prompt_with_arguments', { description: 'A prompt with two arguments', argsSchema: withArguments }, ({ arg1, arg2 }) => ({
    messages: [{ role: 'user', content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }],
  }));
  server.registerPrompt('test_prompt_with_embedded_resource', { description: 'A prompt that embeds a resource', argsSchema: withResource }, ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: text('Please process the embedded resource above.') },
    ],
  }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, () => withImage);
}
