import { describe, expect, it } from 'vitest';
import { readRequestText } from '../lib/mcp/request-body.js';

const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Request =>
  new Request('http://localhost/mcp', { method: 'POST', body, headers, duplex: 'half' } as RequestInit);

/** A body streamed in chunks with no Content-Length, as a chunked request arrives. */
const chunked = (chunks: number, size: number): ReadableStream<Uint8Array> => {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ === chunks) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
};

describe('readRequestText: the gate reads a body once, within its cap', () => {
  it('a declared length within the cap is read whole', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    expect(await readRequestText(post(body, { 'content-length': String(Buffer.byteLength(body)) }), 1024)).toEqual({ tooLarge: false, text: body });
  });

  it('a declared length over the cap is refused unread', async () => {
    expect(await readRequestText(post('x'.repeat(10), { 'content-length': '2048' }), 1024)).toEqual({ tooLarge: true });
  });

  it('a hand-built Request whose body is longer than it declares is still held to the cap', async () => {
    expect(await readRequestText(post('x'.repeat(2000), { 'content-length': '5' }), 1024)).toEqual({ tooLarge: true });
  });

  it('a body without a declared length is counted as it arrives and refused past the cap', async () => {
    expect(await readRequestText(post(chunked(100, 1024)), 10 * 1024)).toEqual({ tooLarge: true });
    expect(await readRequestText(post(chunked(3, 10)), 1024)).toEqual({ tooLarge: false, text: ' '.repeat(30) });
  });

  it('a malformed Content-Length takes the counted path', async () => {
    expect(await readRequestText(post('{}', { 'content-length': '2, 2' }), 1024)).toEqual({ tooLarge: false, text: '{}' });
  });
});
