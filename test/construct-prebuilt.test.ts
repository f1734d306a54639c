import { App, Stack } from 'aws-cdk-lib';
import { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultBundlesDirectory } from '../infra/handler-code.js';
import { McpSessionService } from '../infra/mcp-session-service.js';
import { routeNames, type RouteName } from '../lib/routes.js';
import { bundleFunctions } from '../scripts/build/bundle-functions.js';
import { apiEvent } from '../scripts/local/api-event.js';
import { createStreamsTestTable, createTestTable, endpoint } from './support/dynamo.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'mcp-sessions-prebuilt-'));
/** Real bundles, made by the build's own bundler (what `npm run build` puts in dist/functions). */
const bundles = join(work, 'functions');
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(async () => {
  await bundleFunctions(root, bundles);
}, 120_000);

type FunctionResource = { Type: string; Properties: { Code: { S3Key: string }; Handler: string; Runtime: string; Architectures: string[] } };

/** A consumer's app: their stack, the construct with the prebuilt handlers, synthesised to `outdir`. */
function synthConsumer(outdir: string): { service: McpSessionService; stack: Stack; resources: Record<string, FunctionResource> } {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Consumer');
  const service = new McpSessionService(stack, 'Sessions', { bundlesDirectory: bundles });
  const assembly = app.synth();
  const template = assembly.getStackByName('Consumer').template as { Resources: Record<string, FunctionResource> };
  return { service, stack, resources: template.Resources };
}

describe('handlerCode "prebuilt" (the default): the bundles the package ships, deployed as assets', () => {
  const outdir = join(work, 'cdk.out');
  let synthesised: ReturnType<typeof synthConsumer>;
  beforeAll(() => {
    synthesised = synthConsumer(outdir);
  });

  it('prebuilt: each function\'s Code asset is its bundle directory, verbatim, with handler index.handler on Node 24 arm64, and nothing is bundled at synth', () => {
    const { service, stack, resources } = synthesised;
    const keys = new Set<string>();
    for (const name of routeNames) {
      const fn = service.functions[name];
      expect(fn).toBeInstanceOf(LambdaFunction);
      expect(fn).not.toBeInstanceOf(NodejsFunction);
      const resource = resources[stack.getLogicalId(fn.node.defaultChild as never)];
      expect(resource?.Properties).toMatchObject({ Handler: 'index.handler', Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      const asset = join(outdir, `asset.${String(resource?.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      // The staged asset is the bundle directory as built (index.js, its source map, whatever the build
      // puts beside them), byte for byte: no rebuild, nothing added or left out.
      const files = readdirSync(join(bundles, name)).sort();
      expect(files).toContain('index.js.map');
      expect(readdirSync(asset).sort()).toEqual(files);
      for (const file of files) expect(readFileSync(join(asset, file)).equals(readFileSync(join(bundles, name, file))), file).toBe(true);
      keys.add(String(resource?.Properties.Code.S3Key));
    }
    expect(keys.size).toBe(routeNames.length);
  });

  it('prebuilt: the staged start and appendMessage bundles export `handler` (index.handler) and work against DynamoDB Local when loaded as Lambda loads them', async () => {
    const { service, stack, resources } = synthesised;
    const [table, streamsTable] = await Promise.all([createTestTable('prebuilt'), createStreamsTestTable('prebuilt')]);
    const assetOf = (name: RouteName): string =>
      join(outdir, `asset.${String(resources[stack.getLogicalId(service.functions[name].node.defaultChild as never)]?.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'index.js');
    // CommonJS, loaded with require as Lambda's Node runtime does for index.handler; run in its own process.
    const script = `const { handler } = require(process.argv[1]);
      handler(JSON.parse(process.argv[2]), { awsRequestId: 'prebuilt-test', getRemainingTimeInMillis: () => 5000 })
        .then((r) => process.stdout.write(JSON.stringify({ type: typeof handler, status: r.statusCode, body: JSON.parse(r.body) })));`;
    const env = {
      PATH: process.env.PATH,
      TABLE_NAME: table.tableName,
      STREAMS_TABLE_NAME: streamsTable.tableName,
      DYNAMODB_ENDPOINT: endpoint(),
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const { stdout } = await run(process.execPath, ['-e', script, assetOf('start'), JSON.stringify(apiEvent('start', { body: '{}' }))], { env, timeout: 30_000 });
    const answer = JSON.parse(stdout) as { type: string; status: number; body: { sessionId?: unknown } };
    expect(answer).toMatchObject({ type: 'function', status: 201 });
    expect(typeof answer.body.sessionId).toBe('string');
    const appendEvent = apiEvent('appendMessage', { sessionId: crypto.randomUUID(), streamId: 'relay:1', body: '{"message":{"a":1}}' });
    const appended = await run(process.execPath, ['-e', script, assetOf('appendMessage'), JSON.stringify(appendEvent)], { env, timeout: 30_000 });
    expect(JSON.parse(appended.stdout)).toEqual({ type: 'function', status: 201, body: { seq: 1 } });
    // The others load and export a handler the same way.
    for (const name of routeNames.filter((route) => route !== 'start' && route !== 'appendMessage')) {
      const loaded = await run(process.execPath, ['-e', `process.stdout.write(typeof require(process.argv[1]).handler)`, assetOf(name)], { env, timeout: 30_000 });
      expect(loaded.stdout).toBe('function');
    }
  });

  it('prebuilt: cdk-nag AwsSolutions finds nothing', () => {
    const stack = new Stack(new App(), 'Consumer');
    new McpSessionService(stack, 'Sessions', { bundlesDirectory: bundles });
    expect(new AwsSolutionsChecks().validateScope(stack).violations).toEqual([]);
  });
});

describe('where the prebuilt bundles are, and when they are missing', () => {
  it('a missing bundle fails synth before anything is made, naming the file and saying to run npm run build', () => {
    const empty = join(work, 'empty');
    mkdirSync(join(empty, 'start'), { recursive: true });
    const stack = new Stack(new App(), 'Consumer');
    expect(() => new McpSessionService(stack, 'Sessions', { bundlesDirectory: empty })).toThrow(
      new RegExp(`no prebuilt handler bundle at ${join(empty, 'start', 'index.js').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, .*check.*destroy.*run \`npm run build\``),
    );
    // Nothing half-built: the construct was left empty.
    expect(stack.node.findChild('Sessions').node.children).toEqual([]);
  });

  it('the default location is next to the construct\'s own module: dist/functions beside dist/infra in the package, the same dist/functions when run from source', () => {
    expect(defaultBundlesDirectory('file:///consumer/node_modules/mcp-sessions/dist/infra/handler-code.js')).toBe('/consumer/node_modules/mcp-sessions/dist/functions');
    expect(defaultBundlesDirectory('file:///repo/infra/handler-code.ts')).toBe('/repo/dist/functions');
    expect(defaultBundlesDirectory()).toBe(join(root, 'dist', 'functions'));
  });

  it('handlerCode is "prebuilt" or "bundle-from-source", and bundlesDirectory only goes with prebuilt', () => {
    const stack = new Stack(new App(), 'Consumer');
    expect(() => new McpSessionService(stack, 'A', { handlerCode: 'docker' as never })).toThrow(/^handlerCode must be "prebuilt" or "bundle-from-source", got "docker"$/);
    expect(() => new McpSessionService(stack, 'B', { handlerCode: 'bundle-from-source', bundlesDirectory: bundles })).toThrow(/bundlesDirectory applies to handlerCode "prebuilt" only/);
  });
});
