export type BodyText = { tooLarge: true } | { tooLarge: false; text: string };

/**
 * Reads a request body as text, never holding more than `maxBytes` of it: a declared
 * Content-Length over the cap is refused unread, and a chunked body is counted as it arrives and
 * cancelled the moment it passes the cap, so a client streaming without end costs one chunk.
 */
export async function readBoundedText(request: Request, maxBytes: number): Promise<BodyText> {
  if (Number(request.headers.get('content-length') ?? 0) > maxBytes) {
    await request.body?.cancel().catch(() => undefined);
    return { tooLarge: true };
  }
  if (request.body === null) return { tooLarge: false, text: '' };
  const reader = request.body.getReader();
  const decoder = new TextDecoder();
  let received = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { tooLarge: false, text: text + decoder.decode() };
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { tooLarge: true };
    }
    text += decoder.decode(value, { stream: true });
  }
}
