/** The SDK transport's SSE keep-alive interval, which our own streams keep too. */
export const DEFAULT_KEEP_ALIVE_MS = 15_000;

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;

/**
 * An SSE response written by our code (the streams served from the store): events in the SDK's
 * format, each with its id, keep-alive comments, and a `signal` that aborts when the client goes
 * away or the stream is closed.
 */
export class SseStream {
  readonly response: Response;
  private controller: ReadableStreamDefaultController<Uint8Array> | undefined;
  private readonly encoder = new TextEncoder();
  private readonly ended = new AbortController();
  private readonly keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(options: { keepAliveMs?: number; headers?: Record<string, string> } = {}) {
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => this.end(),
    });
    this.response = new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...options.headers } });
    const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
    if (keepAliveMs >= 1) {
      this.keepAlive = setInterval(() => this.write(': keepalive\n\n'), keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** Aborts once the client is gone or `close` was called. */
  get signal(): AbortSignal {
    return this.ended.signal;
  }

  /** A JSON-RPC message as the SDK writes it. */
  event(id: string, message: unknown): boolean {
    return this.write(`event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`);
  }

  /** An event with an id and no data: gives the client a cursor to resume from (and the retry hint). */
  prime(id: string, retryMs?: number): boolean {
    return this.write(`id: ${id}\n${retryMs === undefined ? '' : `retry: ${retryMs}\n`}data: \n\n`);
  }

  retry(ms: number): boolean {
    return this.write(`retry: ${ms}\n\n`);
  }

  close(): void {
    if (this.signal.aborted) return;
    try {
      this.controller?.close();
    } catch {
      // already closed by a cancel
    }
    this.end();
  }

  private write(text: string): boolean {
    if (this.signal.aborted || this.controller === undefined) return false;
    try {
      this.controller.enqueue(this.encoder.encode(text));
      return true;
    } catch {
      this.end();
      return false;
    }
  }

  private end(): void {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive);
    this.ended.abort();
  }
}
