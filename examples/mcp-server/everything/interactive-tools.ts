/**
 * Tools that talk to the client while they run: log messages, progress, sampling and elicitation
 * requests, and closing their SSE stream mid-call (SEP-1699 polling). Each message goes out on the
 * request's own stream (`extra.sendNotification`, `relatedRequestId`); the shared session handler
 * stores the stream, relays the client's answers between instances, and applies the session's log level.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ElicitRequestFormParams, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { contactForm, defaultsForm, enumsForm } from './elicitation-schemas.js';
import { text } from './media.js';
import { WATCHED_URI } from './resources.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = (message: string): CallToolResult => ({ isError: true, content: [text(message)] });
const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

const samplingInput = { prompt: z.string().describe('The prompt to send to the LLM') };
const elicitationInput = { message: z.string().describe('The message to show the user') };
const LOG_STEPS = ['Tool execution started', 'Tool processing data', 'Tool execution completed'] as const;
const PROGRESS_STEPS = [0, 50, 100] as const;

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Sends elicitation/create on the tool call's stream and reports the user's answer. */
async function askUser(server: McpServer, extra: ToolExtra, params: ElicitRequestFormParams, label: string): Promise<CallToolResult> {
  try {
    const result = await server.server.elicitInput(params, { relatedRequestId: extra.requestId, signal: extra.signal });
    return { content: [text(`${label}: action=${result.action}, content=${JSON.stringify(result.content ?? {})}`)] };
  } catch (error) {
    return failure(`Elicitation failed: ${errorText(error)}`);
  }
}

export function registerInteractiveTools(server: McpServer): void {
  server.registerTool('test_tool_with_logging', { description: 'Sends three info log messages while it runs' }, async (extra) => {
    for (const [index, data] of LOG_STEPS.entries()) {
      if (index > 0) await pause(50);
      await extra.sendNotification({ method: 'notifications/message', params: { level: 'info', logger: 'test_tool_with_logging', data } });
    }
    return { content: [text('Tool with logging completed')] };
  });

  server.registerTool('test_tool_with_progress', { description: 'Reports progress 0, 50, 100 of 100 when given a progress token' }, async (extra) => {
    const progressToken = extra._meta?.progressToken;
    for (const [index, progress] of PROGRESS_STEPS.entries()) {
      if (index > 0) await pause(50);
      if (progressToken !== undefined) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total: 100 } });
    }
    return { content: [text('Tool with progress completed')] };
  });

  server.registerTool('test_sampling', { description: "Asks the client's LLM to answer a prompt (sampling)", inputSchema: samplingInput }, async ({ prompt }, extra) => {
    try {
      const result = await server.server.createMessage(
        { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 100 },
        { relatedRequestId: extra.requestId, signal: extra.signal },
      );
      const answer = Array.isArray(result.content) ? result.content : [result.content];
      const reply = answer.map((part) => (part.type === 'text' ? part.text : `[${part.type}]`)).join(' ');
      return { content: [text(`LLM response: ${reply}`)] };
    } catch (error) {
      return failure(`Sampling failed: ${errorText(error)}`);
    }
  });

  server.registerTool('test_elicitation', { description: 'Asks the user for a username and an email (elicitation)', inputSchema: elicitationInput }, ({ message }, extra) =>
    askUser(server, extra, { message, requestedSchema: contactForm }, 'User response'),
  );
  server.registerTool('test_elicitation_sep1034_defaults', { description: 'Asks for a value of every primitive type, each with a default (SEP-1034)' }, (extra) =>
    askUser(server, extra, { message: 'Please review these values', requestedSchema: defaultsForm }, 'Elicitation completed'),
  );
  server.registerTool('test_elicitation_sep1330_enums', { description: 'Asks for a choice in each enum style (SEP-1330)' }, (extra) =>
    askUser(server, extra, { message: 'Please make your choices', requestedSchema: enumsForm }, 'Elicitation completed'),
  );

  server.registerTool('touch_watched_resource', { description: `Tells subscribers that ${WATCHED_URI} changed` }, async () => {
    // Not tied to this call: it goes to the session's standalone stream, which the client's GET
    // (on whichever instance) delivers - and only if this session subscribed to the URI.
    await server.server.sendResourceUpdated({ uri: WATCHED_URI });
    return { content: [text(`Sent notifications/resources/updated for ${WATCHED_URI} (delivered if subscribed)`)] };
  });

  server.registerTool('test_reconnection', { description: 'Closes its SSE stream mid-call; the client reconnects (Last-Event-ID) for the result (SEP-1699)' }, async (extra) => {
    await pause(100);
    // The client polls: it reconnects with Last-Event-ID, to any instance, and gets the result from the stored stream.
    extra.closeSSEStream?.();
    await pause(100);
    return { content: [text('Reconnection test completed')] };
  });
}
