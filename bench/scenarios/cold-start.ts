import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { routeNames, routes } from '../../lib/routes.js';
import { median, progress, round, type BenchContext } from '../support.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const OUT = join(ROOT, 'bench', '.build');

export interface ColdStartRow {
  bundle: string;
  awsSdk: 'bundled' | 'from runtime' | 'none';
  sizeKb: number;
  initMedianMs: number;
  initOverEmptyMs: number;
  runs: number;
}

/** The stack's bundling (infra/session-function.ts): minified CJS for Node 24, SDK bundled or external. */
async function bundle(name: string, entry: { file: string } | { contents: string }, bundleSdk: boolean): Promise<string> {
  const outfile = join(OUT, bundleSdk ? 'sdk-bundled' : 'sdk-external', name, 'index.js');
  await build({
    ...('file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.contents, loader: 'ts', resolveDir: ROOT } }),
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    external: bundleSdk ? [] : ['@aws-sdk/*'],
    logLevel: 'silent',
  });
  return outfile;
}

/** Milliseconds to require the bundle in a fresh Node process (module initialisation only). */
async function initTime(file: string): Promise<number> {
  const script = "const {performance}=require('node:perf_hooks');const t=performance.now();require(process.argv[1]);process.stdout.write(String(performance.now()-t))";
  const { stdout } = await run(process.execPath, ['--enable-source-maps', '-e', script, file], {
    cwd: ROOT,
    env: { ...process.env, TABLE_NAME: 'bench', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return Number(stdout);
}

/** Scenario 5: bundle size and module-initialisation time per function, against an empty handler. */
export async function measureColdStart(context: BenchContext): Promise<ColdStartRow[]> {
  const runs = context.quick ? 5 : 20;
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  progress('cold start: bundling the empty handler and each function with the SDK bundled and from the runtime');
  const bundles: { name: string; awsSdk: ColdStartRow['awsSdk']; file: string }[] = [
    { name: 'empty handler', awsSdk: 'none', file: await bundle('empty', { contents: 'export const handler = async () => ({ statusCode: 200 });' }, true) },
  ];
  for (const bundleSdk of [true, false]) {
    for (const name of routeNames) {
      bundles.push({ name, awsSdk: bundleSdk ? 'bundled' : 'from runtime', file: await bundle(name, { file: join(ROOT, routes[name].entry) }, bundleSdk) });
    }
  }
  // Interleaved: every round loads each bundle once, so a noisy moment hits all of them alike.
  const times = bundles.map(() => [] as number[]);
  for (let round = 0; round < runs; round++) {
    progress(`cold start: round ${round + 1}/${runs}, ${bundles.length} fresh processes`);
    for (const [i, b] of bundles.entries()) times[i]?.push(await initTime(b.file));
  }
  const empty = median(times[0] ?? []);
  return bundles.map((b, i) => {
    const init = median(times[i] ?? []);
    return { bundle: b.name, awsSdk: b.awsSdk, sizeKb: round(statSync(b.file).size / 1024, 1), initMedianMs: round(init), initOverEmptyMs: round(init - empty), runs };
  });
}
