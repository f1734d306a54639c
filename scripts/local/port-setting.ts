import { createServer } from 'node:net';
import { ConfigError } from '../../lib/config.js';

export const DEFAULT_PORT = 3000;

/** PORT as `npm start` reads it: unset or empty means 3000; anything but a whole number from 1 to 65535 is refused. */
export function parsePort(raw: string | undefined): number {
  const value = raw?.trim() ?? '';
  if (value === '') return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new ConfigError(`PORT must be a whole number from 1 to 65535, got "${raw}"`);
  }
  return port;
}

/**
 * Fails, naming PORT, when nothing can listen on host:port (in use, or not allowed). Checked before
 * DynamoDB Local is started, so a busy port costs nothing; the real listen can still lose a race,
 * and `npm start` handles that failure the same way.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => reject(portError(port, host, error)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** The error to show when the local API cannot listen: which setting to change, and why. */
export function portError(port: number, host: string, error: NodeJS.ErrnoException): ConfigError {
  const why = error.code === 'EADDRINUSE' ? 'is already in use' : error.code === 'EACCES' ? 'needs privileges this user lacks' : `cannot be used (${error.code ?? error.message})`;
  return new ConfigError(`PORT ${port} on ${host} ${why}; set PORT to a free port, e.g. PORT=3001 npm start`);
}
