/** The JSON-RPC shapes the gate looks at, and the error responses it answers with. */

export type JsonRpcId = string | number;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const isJsonRpcId = (value: unknown): value is JsonRpcId => typeof value === 'string' || typeof value === 'number';

export interface InitializeRequest {
  id: JsonRpcId;
  params: Record<string, unknown>;
}

/** An `initialize` request (not a notification: it has an id), with its params as sent or empty. */
export function asInitializeRequest(message: unknown): InitializeRequest | undefined {
  if (!isObject(message) || message.method !== 'initialize' || !isJsonRpcId(message.id)) return undefined;
  return { id: message.id, params: isObject(message.params) ? message.params : {} };
}

/** A batch with an initialize in it: the spec lets initialize travel only alone. */
export const isBatchWithInitialize = (message: unknown): boolean =>
  Array.isArray(message) && message.some((entry) => isObject(entry) && entry.method === 'initialize');

/** The response to request `id`: a result or an error, or undefined when `message` is neither. */
export function asResponseTo(message: unknown, id: JsonRpcId): { result: Record<string, unknown> } | { error: unknown } | undefined {
  if (!isObject(message) || message.id !== id) return undefined;
  if (isObject(message.result)) return { result: message.result };
  if ('error' in message) return { error: message.error };
  return undefined;
}

export function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false }; // not JSON, or nested too deeply to parse
  }
}
