/**
 * `npm run build` (and `npm pack`'s prepack): dist/ from scratch.
 * 1. tsc -p tsconfig.build.json: the four entry points and what they import, to dist/lib and
 *    dist/infra, with declarations.
 * 2. Checks that nothing compiled refers to a package a consumer would not have installed.
 * 3. esbuild: the three Lambda handlers, each bundled to dist/functions/<name>/index.js, which the
 *    construct deploys as assets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { bundleFunctions } from './build/bundle-functions.js';
import { filesUnder, unavailableImports, type PackageManifest } from './build/check-imports.js';

const root = join(import.meta.dirname, '..');
const dist = join(root, 'dist');

function fail(message: string): never {
  console.error(`build failed: ${message}`);
  process.exit(1);
}

rmSync(dist, { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) fail(`tsc -p tsconfig.build.json exited with ${tsc.status ?? tsc.signal}`);

// Only library and construct code is compiled: anything else would mean an entry point imports a
// test, script, example or the app (and would ship it).
const compiled = filesUnder(dist).map((file) => relative(root, file));
const stray = compiled.filter((file) => !/^dist\/(lib|infra)\//.test(file) || file === join('dist', 'infra', 'app.js'));
if (stray.length > 0) fail(`compiled files outside dist/lib and dist/infra, or the app: ${stray.join(', ')}`);

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageManifest;
const unavailable = unavailableImports(dist, manifest);
if (unavailable.length > 0) fail(`\n  ${unavailable.join('\n  ')}`);

const bundles = await bundleFunctions(root, join(dist, 'functions'));
for (const bundle of bundles) if (!existsSync(`${bundle}.map`)) fail(`${relative(root, bundle)} has no source map`);

console.log(`build: ${compiled.length} compiled files in dist/lib and dist/infra; ${bundles.map((bundle) => relative(root, bundle)).join(', ')}`);
