import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { kind: 'body'; text: string | undefined }
  /** Over the limit: reading stopped there, what was read is dropped, and the rest is left unread. */
  | { kind: 'too-large' }
  /** The client went away mid-body; there is nobody to answer. */
  | { kind: 'aborted' };

/** The request's Content-Length already says its body is over the limit: refuse it before reading a byte. */
export function declaredTooLarge(request: IncomingMessage, limit: number): boolean {
  const declared = request.headers['content-length'];
  return declared !== undefined && Number(declared) > limit;
}

/** True while a body the client declared (by length or chunked) has not been read to its end. */
export function bodyPending(request: IncomingMessage): boolean {
  const declared = request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length'] ?? '0') > 0;
  return declared && !request.complete;
}

/**
 * Reads the body, counting bytes as they arrive, and stops at `limit`: it never holds more than the
 * limit plus one socket read, whatever the client sends and whether or not it declared a length.
 * After 'too-large' the request is paused, so the rest stays in the kernel's buffers (TCP pushes
 * back on the sender) until the caller answers and closes the connection.
 */
export function readBoundedBody(request: IncomingMessage, limit: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onGone);
      request.off('close', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      request.pause();
      chunks.length = 0;
      finish({ kind: 'too-large' });
    };
    const onEnd = () => finish({ kind: 'body', text: size === 0 ? undefined : Buffer.concat(chunks, size).toString('utf8') });
    const onGone = () => finish({ kind: 'aborted' });
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', onGone);
    request.once('close', onGone);
  });
}
