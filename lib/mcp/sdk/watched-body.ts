export interface BodyWatch {
  /**
   * The producer ended the body (the SDK closed the stream: all answered, or closed for polling).
   * The end reaches the client only once this resolves, so whatever must be stored first is.
   */
  ended(): Promise<void> | void;
  /** The client went away before the end (the body was cancelled, or the request aborted). */
  clientGone(): void;
}

/**
 * The same response with its body passed through, telling how the body ended: the only way to
 * see a client leave an SSE stream or the SDK close one early (`closeSSEStream`).
 */
export function watchBody(response: Response, watch: BodyWatch, requestSignal?: AbortSignal): Response {
  const source = response.body;
  if (source === null) {
    void watch.ended();
    return response;
  }
  const reader = source.getReader();
  let over = false;
  const gone = () => {
    if (over) return;
    over = true;
    requestSignal?.removeEventListener('abort', gone);
    watch.clientGone();
    reader.cancel().catch(() => undefined);
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        gone();
        controller.error(error);
        return;
      }
      if (!chunk.done) {
        controller.enqueue(chunk.value);
        return;
      }
      if (over) return;
      over = true;
      requestSignal?.removeEventListener('abort', gone);
      await watch.ended();
      try {
        controller.close();
      } catch {
        // cancelled meanwhile
      }
    },
    cancel: gone,
  });
  requestSignal?.addEventListener('abort', gone, { once: true });
  if (requestSignal?.aborted) gone();
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
