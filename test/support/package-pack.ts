import { cpSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { run } from './package-run.js';

export interface Packed {
  /** The .tgz `npm pack` wrote. */
  tarball: string;
  /** The paths `npm pack --dry-run --json` lists. */
  listing: string[];
  /** The paths inside the tarball (without tar's `package/` prefix). */
  entries: string[];
}

/** Not copied (top level): built or local-run output, and history; none of it is source. */
const NOT_SOURCE = new Set(['dist', '.git', 'cdk.out', '.data', 'coverage']);
/** Nor any installed packages, at any depth (.ci/node24 installs a whole Node). */
const notInstalled = (path: string): boolean => basename(path) !== 'node_modules';

/**
 * `npm pack` as a maintainer runs it (prepack builds dist/), in a copy of this working tree: the
 * build starts by deleting dist/, and other test files running at the same time may be reading the
 * repository's own dist/. The copy has everything else (tests, scripts, bench, examples, CI files
 * included, so the `files` allow-list is what keeps them out) and this repository's node_modules.
 */
export async function packWorkingTree(root: string, workDir: string): Promise<Packed> {
  const source = join(workDir, 'source');
  const destination = join(workDir, 'pack');
  mkdirSync(destination, { recursive: true });
  cpSync(root, source, { recursive: true, filter: (path) => notInstalled(path) && !NOT_SOURCE.has(relative(root, path)) });
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'), 'dir');

  await run('npm', ['pack', '--pack-destination', destination, '--no-audit', '--no-fund'], { cwd: source, timeoutMs: 120_000 });
  const tarballs = readdirSync(destination).filter((file) => file.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack wrote ${tarballs.length} tarballs: ${tarballs.join(', ')}`);
  const tarball = join(destination, tarballs[0] ?? '');

  // The dry run lists what the real pack just packed; its prepack would only build the same dist/ again.
  const dryRun = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: source, timeoutMs: 60_000 });
  const [report] = JSON.parse(dryRun.stdout) as { files: { path: string }[] }[];
  const listing = (report?.files ?? []).map((file) => file.path).sort();

  const tar = await run('tar', ['-tzf', tarball], { cwd: workDir, timeoutMs: 30_000 });
  const entries = tar.stdout
    .split('\n')
    .filter((line) => line !== '' && !line.endsWith('/'))
    .map((line) => line.replace(/^package\//, ''))
    .sort();
  return { tarball, listing, entries };
}
