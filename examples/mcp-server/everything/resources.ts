/** Resources: a text one, a binary one, one clients subscribe to, and a template with a parameter. */
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { RED_PIXEL_PNG } from './media.js';

export const STATIC_TEXT_URI = 'test://static-text';
export const STATIC_BINARY_URI = 'test://static-binary';
export const WATCHED_URI = 'test://watched-resource';
const TEMPLATE = 'test://template/{id}/data';
const TEMPLATE_IDS = ['123', '456', '789'] as const;

const staticText = { contents: [{ uri: STATIC_TEXT_URI, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }] };
const staticBinary = { contents: [{ uri: STATIC_BINARY_URI, mimeType: 'image/png', blob: RED_PIXEL_PNG }] };
const watched = { contents: [{ uri: WATCHED_URI, mimeType: 'text/plain', text: 'The content of the watched resource: subscribe to hear when it changes.' }] };

const templateData = (uri: URL, id: string) => ({
  contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }],
});

export function registerResources(server: McpServer): void {
  server.registerResource('static-text', STATIC_TEXT_URI, { description: 'A static text resource', mimeType: 'text/plain' }, () => staticText);
  server.registerResource('static-binary', STATIC_BINARY_URI, { description: 'A static binary resource (a PNG image)', mimeType: 'image/png' }, () => staticBinary);
  server.registerResource('watched-resource', WATCHED_URI, { description: 'A resource to subscribe to', mimeType: 'text/plain' }, () => watched);
  const template = new ResourceTemplate(TEMPLATE, {
    // Templates are listed under resources/templates/list; resources/list shows only the fixed resources.
    list: undefined,
    complete: { id: (value) => TEMPLATE_IDS.filter((id) => id.startsWith(value)) },
  });
  server.registerResource('template-data', template, { description: 'JSON data for an id, from a URI template', mimeType: 'application/json' }, (uri, { id }) =>
    templateData(uri, Array.isArray(id) ? id.join(',') : (id ?? '')),
  );
}
