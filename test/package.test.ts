/**
 * The package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a
 * fresh project with only its peers (and the MCP SDK that project's own server uses), and used there
 * with plain `node` - no tsx, no esbuild, none of this repository's sources or lock file.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeNames } from '../lib/routes.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { freePort } from '../scripts/local/dynamodb-local.js';
import { launchTs, type Launched } from '../scripts/local/launch-ts.js';
import { CONSUMER_INSTALLS, createConsumer, lockedVersions, writeConsumerTsconfig } from './support/package-consumer.js';
import { packWorkingTree, type Packed } from './support/package-pack.js';
import { nodeJson, run } from './support/package-run.js';

const ROOT = join(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'consumer');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** Packing (a full build) and installing aws-cdk-lib on a busy 2-core machine, with npm's cache warm. */
const SETUP_TIMEOUT_MS = 240_000;

const work = mkdtempSync(join(tmpdir(), 'mcp-sessions-package-'));
const consumer = join(work, 'consumer');
let packed: Packed;
let service: { launched: Launched; url: string; dynamodbEndpoint: string } | undefined;

/** `npm start` from this repository (the service the packaged client talks to), with its own DynamoDB Local. */
async function startService(): Promise<NonNullable<typeof service>> {
  const port = await freePort();
  const launched = await launchTs(
    'scripts/start-local.ts',
    { PORT: String(port), MCP_SESSIONS_DATA_DIR: join(work, 'dynamodb'), TABLE_NAME: 'mcp-sessions', DYNAMODB_ENDPOINT: '' },
    /listening on/,
    SETUP_TIMEOUT_MS,
  );
  const dynamodbEndpoint = /DynamoDB Local (http:\/\/\S+) \(pid/.exec(launched.output())?.[1];
  if (dynamodbEndpoint === undefined) throw new Error(`npm start did not name its DynamoDB Local:\n${launched.output()}`);
  return { launched, url: `http://127.0.0.1:${port}`, dynamodbEndpoint };
}

beforeAll(async () => {
  mkdirSync(consumer);
  // The service starts (Java) while the package is built and installed.
  const [pack, started] = await Promise.allSettled([
    packWorkingTree(ROOT, work).then(async (result) => {
      await createConsumer(consumer, result.tarball, lockedVersions(ROOT, CONSUMER_INSTALLS), FIXTURES);
      return result;
    }),
    startService(),
  ]);
  if (started.status === 'fulfilled') service = started.value;
  if (pack.status === 'rejected') throw pack.reason;
  if (started.status === 'rejected') throw started.reason;
  packed = pack.value;
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  await service?.launched.stop();
  rmSync(work, { recursive: true, force: true });
});

const running = (): NonNullable<typeof service> => {
  if (!service) throw new Error('npm start is not running');
  return service;
};

/** What may be in the tarball at all: the build output and the documents `files` names (npm adds package.json). */
const ALLOWED = /^(dist\/(lib|infra|functions)\/.+|CHANGELOG\.md|LICENSE|README\.md|package\.json)$/;

describe('npm pack: what the tarball holds', () => {
  it('npm pack --dry-run lists no test, bench, scripts, examples or CI files, and no TypeScript sources (only .d.ts declarations)', () => {
    expect(packed.listing.length).toBeGreaterThan(0);
    expect(packed.listing.filter((path) => /^(test|bench|scripts|examples|lib|infra|functions|\.ci|\.github)\//.test(path))).toEqual([]);
    expect(packed.listing.filter((path) => /\.(c|m)?ts$/.test(path) && !/\.d\.(c|m)?ts$/.test(path))).toEqual([]);
    expect(packed.listing.filter((path) => /(^|\/)(tsconfig[^/]*\.json|vitest\.config\.ts|cdk\.json|package-lock\.json|\.gitignore)$/.test(path))).toEqual([]);
    expect(packed.listing.filter((path) => !ALLOWED.test(path))).toEqual([]);
    // The dry run lists exactly what the real pack put in the tarball.
    expect(packed.entries).toEqual(packed.listing);
  });

  it('the tarball has the four entry points compiled with declarations, the pre-bundled handlers, and the documents', () => {
    expect(packed.listing).toEqual(
      expect.arrayContaining([
        'dist/lib/index.js',
        'dist/lib/index.d.ts',
        'dist/lib/mcp/index.js',
        'dist/lib/mcp/index.d.ts',
        'dist/lib/mcp/sdk/index.js',
        'dist/lib/mcp/sdk/index.d.ts',
        'dist/infra/index.js',
        'dist/infra/index.d.ts',
        ...routeNames.flatMap((name) => [`dist/functions/${name}/index.js`, `dist/functions/${name}/index.js.map`, `dist/functions/${name}/package.json`]),
        'CHANGELOG.md',
        'LICENSE',
        'README.md',
        'package.json',
      ]),
    );
    // The repository's own app (cdk-nag, context parsing) is not part of the construct.
    expect(packed.listing).not.toContain('dist/infra/app.js');
  });
});

describe('a fresh project with the tarball and only its peers installed, run with plain node: the service', () => {
  // One at a time, and before the CPU-heavy checks below: these talk to npm start's handlers, which
  // keep production's deadlines.
  it('has no esbuild, no tsx and no TypeScript installed (everything runs as shipped JavaScript)', () => {
    for (const tool of ['esbuild', 'tsx', 'typescript', 'ts-node']) expect(existsSync(join(consumer, 'node_modules', tool)), tool).toBe(false);
    expect(existsSync(join(consumer, 'node_modules', 'mcp-sessions', 'dist', 'lib', 'index.js'))).toBe(true);
  });

  it('runs the pre-bundled handlers, each from a copy of its directory (as Lambda does), against DynamoDB: start, check, destroy', async () => {
    const functions = join(work, 'lambda-task');
    await run('cp', ['-R', join(consumer, 'node_modules', 'mcp-sessions', 'dist', 'functions'), functions], { cwd: work, timeoutMs: 30_000 });
    const events = { start: apiEvent('start', { body: '{}' }), check: apiEvent('check', { sessionId: 'SESSION_ID' }), destroy: apiEvent('destroy', { sessionId: 'SESSION_ID' }) };
    const answered = await nodeJson<Record<string, unknown>>(consumer, ['bundled-handlers.mjs', functions, JSON.stringify(events)], {
      TABLE_NAME: 'mcp-sessions',
      DYNAMODB_ENDPOINT: running().dynamodbEndpoint,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    expect(answered).toEqual({
      handlers: ['function', 'function', 'function'],
      start: 201,
      check: { status: 200, active: true },
      destroy: 204,
      checkAfter: { status: 404, active: false },
    });
  });

  it('uses the packaged SessionClient against npm start: start, check, destroy (and the in-process store sees the same sessions)', async () => {
    const seen = await nodeJson<Record<string, unknown>>(consumer, ['session-client.mjs', running().url], {
      MCP_SESSIONS_TABLE_NAME: 'mcp-sessions',
      MCP_SESSIONS_DYNAMODB_ENDPOINT: running().dynamodbEndpoint,
    });
    expect(seen).toEqual({
      started: { sessionId: 'string', expiresAt: 'number' },
      checked: { active: true, expiresAt: expect.any(Number), metadata: { from: 'consumer' } },
      checkedByOther: { active: false },
      seenInProcess: true,
      seenOverApi: true,
      destroyed: true,
      checkedAfter: { active: false },
      destroyedAgain: false,
      destroyedInProcess: true,
    });
  });

  it('uses the packaged sessionGate + toNodeListener in front of an MCP server built with the official SDK: initialize, a tool call, terminate (DELETE)', async () => {
    const seen = await nodeJson<Record<string, unknown>>(consumer, ['gate.mjs', running().url]);
    expect(seen).toEqual({
      sessionIdIssued: true,
      storedAfterInitialize: true,
      storedProtocolVersion: expect.stringMatching(/^2025-/),
      tools: ['whoami'],
      whoami: { sameSession: true, principal: 'alice', protocolVersion: seen.storedProtocolVersion },
      malloryStatus: 404,
      storedAfterDelete: false,
      afterDeleteStatus: 404,
      ended: [{ sameSession: true, principal: 'alice' }],
    });
  });
});

// Independent of each other and of the service: run side by side.
describe.concurrent('a fresh project with the tarball and only its peers installed, run with plain node: imports, types, synth', () => {
  it('imports each entry point (mcp-sessions, mcp-sessions/mcp, mcp-sessions/mcp/sdk, mcp-sessions/cdk) and finds the exports', async ({ expect }) => {
    const exported = await nodeJson<Record<string, string[]>>(consumer, ['imports.mjs', 'mcp-sessions', 'mcp-sessions/mcp', 'mcp-sessions/mcp/sdk', 'mcp-sessions/cdk']);
    expect(exported['mcp-sessions']).toEqual(
      expect.arrayContaining(['DynamoSessionStore', 'SessionClient', 'SessionServiceError', 'StoreUnavailableError', 'InvalidStartInputError', 'sessionStoreFromEnvironment']),
    );
    expect(exported['mcp-sessions/mcp']).toEqual(expect.arrayContaining(['sessionGate', 'toNodeListener']));
    expect(exported['mcp-sessions/mcp/sdk']).toEqual(expect.arrayContaining(['sharedSessionHandler', 'SessionEventStore', 'sessionStreamServer']));
    expect(exported['mcp-sessions/cdk']).toEqual(expect.arrayContaining(['McpSessionService']));
  });

  it('type-checks a consumer .ts file that uses the entry points, under strict with skipLibCheck false', async ({ expect }) => {
    writeConsumerTsconfig(consumer, join(ROOT, 'node_modules', '@types'));
    const { stdout } = await run(process.execPath, [TSC, '-p', join(consumer, 'tsconfig.json'), '--listFiles'], { cwd: consumer, timeoutMs: 120_000 });
    const files = stdout.split('\n').filter((line) => line.endsWith('.ts'));
    // The package's declarations were checked, as installed in the consumer.
    const installed = join(consumer, 'node_modules', 'mcp-sessions', 'dist');
    expect(files).toEqual(expect.arrayContaining([join(installed, 'lib', 'index.d.ts'), join(installed, 'lib', 'mcp', 'index.d.ts'), join(installed, 'infra', 'index.d.ts')]));
    // Nothing of ours, and none of our dependencies' types, came from this repository: only the
    // consumer's own tools did (TypeScript's lib files, @types/node and what it resolves).
    const toolchain = ['typescript/lib', '@types/node', 'undici-types', 'buffer'].map((dir) => join(ROOT, 'node_modules', dir) + '/');
    expect(files.filter((file) => !file.startsWith(consumer + '/') && !toolchain.some((dir) => file.startsWith(dir)))).toEqual([]);
  });

  it('synthesizes a consumer stack embedding McpSessionService beside its own role granted invoke and its own function granted in-process access, with no esbuild', async ({ expect }) => {
    const summary = await nodeJson<Record<string, unknown>>(consumer, ['stack.mjs', join(work, 'cdk.out')], {}, 120_000);
    expect(summary).toEqual({
      // execute-api:Invoke on exactly the three routes of this API, any stage.
      invoke: {
        effects: ['Allow'],
        resources: ['DELETE /sessions/*', 'GET /sessions/*', 'PATCH /sessions/*', 'POST /sessions', 'POST /sessions/*'].map(
          (route) => `arn:{AWS::Partition}:execute-api:{AWS::Region}:{AWS::AccountId}:<api>/*/${route.replace(' ', '')}`,
        ),
      },
      // The tables' names where sessionStoreFromEnvironment and sessionStreamsFromEnvironment read them, and the library's actions on those tables only.
      inProcess: {
        environment: { MCP_SESSIONS_TABLE_NAME: '<table>', MCP_SESSIONS_STREAMS_TABLE_NAME: '<streams>' },
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
        resources: ['<streams>.Arn', '<table>.Arn'],
      },
      // The package's own bundles, deployed as they ship.
      sessionFunctions: Object.fromEntries(
        routeNames.map((name) => [
          name,
          { handler: 'index.handler', runtime: 'nodejs24.x', architectures: ['arm64'], codeFromAsset: true, sameAsPackagedBundle: true },
        ]),
      ),
      esbuildResolvable: false,
      tables: 2,
      httpApis: 1,
      dashboards: 1,
      alarms: expect.any(Number),
    });
    expect(summary.alarms).toBeGreaterThan(0);
  });
});
