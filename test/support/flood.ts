import { request } from 'node:http';

export interface FloodResult {
  /** The status the server answered with, or 'reset' if it closed the connection without one. */
  status: number | 'reset';
  body: string;
  /** Bytes of body written before the server answered or hung up. */
  bytesSent: number;
  /** Highest resident set size of this process seen while streaming, over what it was before. */
  peakRssGrowthBytes: number;
}

/**
 * POSTs `totalBytes` with chunked transfer encoding (no Content-Length) to `url`, reusing one
 * 64 KiB buffer and honouring backpressure, so this side holds no more than a chunk at a time. It
 * stops sending as soon as the server answers. Servers under test run in this process, so the
 * sampled RSS growth is what the server kept of the body.
 */
export async function floodChunked(url: string, totalBytes: number, headers: Record<string, string> = {}): Promise<FloodResult> {
  const chunk = Buffer.alloc(64 * 1024, 0x20); // spaces: valid JSON whitespace, never a complete message
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  let bytesSent = 0;
  try {
    return await new Promise<FloodResult>((resolve) => {
      let answered = false;
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
      const done = (status: number | 'reset', body: string) => {
        if (answered) return;
        answered = true;
        peak = Math.max(peak, process.memoryUsage().rss);
        resolve({ status, body, bytesSent, peakRssGrowthBytes: peak - baseline });
        req.destroy();
      };
      req.on('response', (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (text: string) => (body += text));
        response.on('end', () => done(response.statusCode ?? 0, body));
        response.on('error', () => done(response.statusCode ?? 0, body));
      });
      req.on('error', () => done('reset', ''));
      const pump = () => {
        while (!answered && bytesSent < totalBytes) {
          bytesSent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
  } finally {
    clearInterval(sampler);
  }
}
