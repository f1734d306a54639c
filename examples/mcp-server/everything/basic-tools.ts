/** The example's own tools (`echo`, `session_info`) and one whose input schema uses JSON Schema 2020-12. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GateSession } from 'mcp-sessions/mcp';
import { z } from 'zod';
import { text } from './media.js';

const echoInput = { text: z.string() };

const JSON_SCHEMA_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const addressShape = { street: z.string().optional(), city: z.string().optional() };
/**
 * The SDK lists a zod schema as JSON Schema draft-07; `meta` adds the 2020-12 keywords zod cannot
 * express (`$schema`, `$defs` with an `$anchor`, `if`/`then`/`else`) to what it writes, while zod
 * still validates the arguments.
 */
const contactInput = z
  .strictObject({
    name: z.string().optional(),
    address: z.object(addressShape).optional().meta({ $ref: '#/$defs/address' }),
    contactMethod: z.enum(['phone', 'email']).optional(),
    phone: z.string().optional(),
    email: z.string().optional(),
  })
  .meta({
    $schema: JSON_SCHEMA_2020_12,
    $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
    allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
    if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
    then: { required: ['phone'] },
    else: { required: ['email'] },
  });

export interface BasicToolsContext {
  /** Which instance answered, to show that any of them can serve a session. */
  instance: string;
  session: GateSession | undefined;
}

export function registerBasicTools(server: McpServer, { instance, session }: BasicToolsContext): void {
  server.registerTool('echo', { description: 'Echoes the text back', inputSchema: echoInput }, ({ text: value }) => ({ content: [text(value)] }));
  server.registerTool('session_info', { description: 'Reports which client this session belongs to, from its stored metadata' }, () => {
    const clientInfo = session?.metadata?.clientInfo as { name?: string; version?: string } | undefined;
    const info = {
      instance,
      client: clientInfo?.name ?? null,
      clientVersion: clientInfo?.version ?? null,
      protocolVersion: session?.metadata?.protocolVersion ?? null,
    };
    return { content: [text(JSON.stringify(info))], structuredContent: info };
  });
  server.registerTool('json_schema_2020_12_tool', { description: 'Tool with JSON Schema 2020-12 features', inputSchema: contactInput }, (contact) => ({
    content: [text(`Contact received: ${JSON.stringify(contact)}`)],
  }));
}
