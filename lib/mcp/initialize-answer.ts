import { untilAborted } from '../deadline-budget.js';
import { asResponseTo, parseJson, type JsonRpcId } from './json-rpc.js';

export interface InitializeAnswer {
  /** The handler's JSON-RPC response to the initialize, when it could be read within the cap. */
  reply: { result: Record<string, unknown> } | { error: unknown } | undefined;
  /** The handler's response, as it was: status, headers and every byte, read or not. */
  response: Response;
}

const mediaType = (header: string | null): string => (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/**
 * Reads the handler's answer to an initialize far enough to know whether it succeeded: the whole
 * JSON body, or an SSE stream up to the event that answers `id`, at most `maxBytes` either way.
 * What was read is replayed in front of the rest, so the client gets the response unchanged. A
 * stream that trickles without ever answering is cancelled when `signal` aborts, and the abort's
 * reason thrown.
 */
export async function readInitializeAnswer(response: Response, id: JsonRpcId, maxBytes: number, signal: AbortSignal): Promise<InitializeAnswer> {
  const type = mediaType(response.headers.get('content-type'));
  if (response.body === null || (type !== 'application/json' && type !== 'text/event-stream')) return { reply: undefined, response };
  const reader = response.body.getReader();
  const consumed: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let text = '';
  let received = 0;
  let reply: InitializeAnswer['reply'];
  for (;;) {
    let chunk: Awaited<ReturnType<typeof reader.read>>;
    try {
      chunk = await untilAborted(reader.read(), signal);
    } catch (error) {
      void reader.cancel().catch(() => undefined);
      throw error;
    }
    if (chunk.done) {
      text += decoder.decode();
      reply = type === 'application/json' ? replyInJson(text, id) : replyInEvents(text, id, true);
      return { reply, response: replay(response, consumed, undefined) };
    }
    consumed.push(chunk.value);
    received += chunk.value.byteLength;
    if (received > maxBytes) return { reply: undefined, response: replay(response, consumed, reader) };
    text += decoder.decode(chunk.value, { stream: true });
    if (type === 'text/event-stream') {
      reply = replyInEvents(text, id, false);
      if (reply !== undefined) return { reply, response: replay(response, consumed, reader) };
    }
  }
}

function replyInJson(text: string, id: JsonRpcId): InitializeAnswer['reply'] {
  const parsed = parseJson(text);
  return parsed.ok ? asResponseTo(parsed.value, id) : undefined;
}

/** The first SSE event whose data is the response to `id`; only complete events unless the stream has ended. */
function replyInEvents(text: string, id: JsonRpcId, ended: boolean): InitializeAnswer['reply'] {
  const events = text.split(/\r\n\r\n|\n\n|\r\r/);
  const complete = ended ? events : events.slice(0, -1);
  for (const event of complete) {
    const data = event
      .split(/\r\n|\n|\r/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
      .join('\n');
    if (data === '') continue;
    const parsed = parseJson(data);
    const reply = parsed.ok ? asResponseTo(parsed.value, id) : undefined;
    if (reply !== undefined) return reply;
  }
  return undefined;
}

/** The same response again: the chunks already read, then whatever the reader still holds. */
function replay(original: Response, consumed: Uint8Array[], rest: ReadableStreamDefaultReader<Uint8Array> | undefined): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of consumed) controller.enqueue(chunk);
      if (rest === undefined) controller.close();
    },
    async pull(controller) {
      if (rest === undefined) return;
      const next = await rest.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => rest?.cancel(reason),
  });
  return new Response(body, { status: original.status, statusText: original.statusText, headers: original.headers });
}

/** `response` with one more header; the body is passed on, not read. */
export const withHeader = (response: Response, name: string, value: string): Response => {
  const headers = new Headers(response.headers);
  headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
};
