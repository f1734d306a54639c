import type { RouteHandlers } from './api-server.js';

/**
 * Imports the real handler modules. They read their configuration from process.env at import time,
 * exactly as in Lambda, so set the environment before calling this.
 */
export async function importHandlers(): Promise<RouteHandlers> {
  const [start, check, destroy] = await Promise.all([
    import('../../functions/start.js'),
    import('../../functions/check.js'),
    import('../../functions/destroy.js'),
  ]);
  return { start: start.handler, check: check.handler, destroy: destroy.handler };
}
