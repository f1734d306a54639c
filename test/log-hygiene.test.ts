import { afterEach, describe, expect, it, vi } from 'vitest';
import { sessionTag } from '../lib/session-id.js';
import { createTestTable, endpoint } from './support/dynamo.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { DEAD_ENDPOINT } from './support/fakes.js';

/** Everything the process writes to stdout and stderr while `run` runs. */
async function captureOutput(run: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const keep = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(keep);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(keep);
  try {
    await run();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return chunks.join('');
}

/** The real Lambda entry points, built from the environment as in Lambda, logging at DEBUG with metrics on. */
async function importFunctions(env: Record<string, string>) {
  vi.resetModules();
  Object.assign(process.env, { POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_METRICS_DISABLED: 'false', ...env });
  const [start, check, destroy] = await Promise.all([import('../functions/start.js'), import('../functions/check.js'), import('../functions/destroy.js')]);
  return { start: start.handler, check: check.handler, destroy: destroy.handler };
}

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('logging hygiene', () => {
  it('no whole session id appears in anything the handlers log, in success or failure', async () => {
    const table = await createTestTable('logs');
    const ids: string[] = [];
    const output = await captureOutput(async () => {
      const fns = await importFunctions({ TABLE_NAME: table.tableName, DYNAMODB_ENDPOINT: endpoint() });
      for (let i = 0; i < 5; i++) {
        const started = await fns.start(apiEvent('start', { body: JSON.stringify({ owner: 'alice', metadata: { clientInfo: { name: 'x' } } }) }));
        const { sessionId } = JSON.parse(started.body ?? '{}') as { sessionId: string };
        ids.push(sessionId);
        await fns.check(apiEvent('check', { sessionId, headers: { 'x-session-owner': 'alice' } }));
        await fns.check(apiEvent('check', { sessionId, headers: { 'x-session-owner': 'mallory' } }));
        await fns.destroy(apiEvent('destroy', { sessionId, headers: { 'x-session-owner': 'alice' } }));
      }
      const down = await importFunctions({ TABLE_NAME: table.tableName, DYNAMODB_ENDPOINT: DEAD_ENDPOINT });
      for (const sessionId of ids) {
        expect((await down.check(apiEvent('check', { sessionId }))).statusCode).toBe(503);
        expect((await down.destroy(apiEvent('destroy', { sessionId }))).statusCode).toBe(503);
      }
    });
    // The logs are there (structured JSON lines and metrics), they just never carry an id.
    expect(output).toContain('"message":"request"');
    expect(output).toContain('"message":"session store unavailable"');
    expect(output).toContain('"SessionsStarted"');
    for (const id of ids) {
      expect(output).not.toContain(id);
      expect(output).not.toContain(id.replaceAll('-', ''));
      expect(output).toContain(sessionTag(id));
    }
  }, 60_000);
});

describe('test output stays readable', () => {
  it('in the suite environment the real entry points print no raw EMF metric lines and no request logs', async () => {
    const table = await createTestTable('quiet');
    vi.resetModules();
    Object.assign(process.env, { TABLE_NAME: table.tableName, DYNAMODB_ENDPOINT: endpoint() }); // vitest.config.ts sets the rest
    const output = await captureOutput(async () => {
      const [start, check] = await Promise.all([import('../functions/start.js'), import('../functions/check.js')]);
      const started = await start.handler(apiEvent('start'));
      const { sessionId } = JSON.parse(started.body ?? '{}') as { sessionId: string };
      expect((await check.handler(apiEvent('check', { sessionId }))).statusCode).toBe(200);
    });
    expect(output).not.toContain('"_aws"');
    expect(output).not.toContain('"message":"request"');
  });
});
