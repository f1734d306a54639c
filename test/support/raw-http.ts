import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  /** Lowercased names. */
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, interim responses (100 Continue) included. */
  text: string;
}

export interface RawExchange {
  /** Resolves with the server's text once it holds a complete final response (or the server closed). */
  response(): Promise<RawResponse>;
  /** Resolves once the server has sent `pattern` (e.g. an interim "100 Continue"). */
  received(pattern: RegExp): Promise<void>;
  write(text: string): void;
  close(): void;
}

/**
 * Speaks HTTP/1.1 over a plain socket, byte for byte as given: for requests no HTTP client will send
 * (malformed lines, huge headers, a Content-Length with no body, half a request). For tests.
 */
export function rawExchange(url: string, request: string, timeoutMs = 10_000): RawExchange {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let text = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((check) => check());
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    text += chunk;
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  socket.on('error', () => undefined);
  socket.write(request);

  const until = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; received so far: ${JSON.stringify(text.slice(0, 500))}`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      check();
    });

  return {
    response: async () => {
      await until(() => ended || parseFinal(text) !== undefined, 'complete response');
      const parsed = parseFinal(text);
      if (!parsed) throw new Error(`the server closed without a complete response: ${JSON.stringify(text.slice(0, 500))}`);
      socket.destroy();
      return { ...parsed, text };
    },
    received: (pattern) => until(() => pattern.test(text), `${pattern}`),
    write: (more) => void socket.write(more),
    close: () => void socket.destroy(),
  };
}

/** The final (non-1xx) response in `text`, once its whole body (by Content-Length) has arrived. */
function parseFinal(text: string): Omit<RawResponse, 'text'> | undefined {
  let rest = text;
  for (;;) {
    const headerEnd = rest.indexOf('\r\n\r\n');
    if (headerEnd < 0) return undefined;
    const [statusLine = '', ...lines] = rest.slice(0, headerEnd).split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    rest = rest.slice(headerEnd + 4);
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? '0');
    if (Buffer.byteLength(rest) < length) return undefined;
    return { status, headers, body: rest };
  }
}
