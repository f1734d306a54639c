import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './package-run.js';

/** What the consumer installs besides the tarball: the peers, and the MCP SDK its own server uses. */
export const CONSUMER_INSTALLS = ['aws-cdk-lib', 'constructs', '@modelcontextprotocol/sdk'] as const;

/** `name@version` for each, at the version this repository's package-lock.json tests with. */
export function lockedVersions(root: string, names: readonly string[]): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
  return names.map((name) => {
    const version = lock.packages[`node_modules/${name}`]?.version;
    if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
    return `${name}@${version}`;
  });
}

/**
 * A fresh project of a user's (an ES module package), with the tarball installed from a file as
 * `npm install ./mcp-sessions-x.y.z.tgz` would, plus the given packages, and the fixture files.
 * From npm's cache where it can: the same packages as this repository's install.
 */
export async function createConsumer(dir: string, tarball: string, installs: string[], fixtures: string): Promise<void> {
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...installs], { cwd: dir, timeoutMs: 180_000 });
  cpSync(fixtures, dir, { recursive: true });
}

/**
 * The consumer's tsconfig: strict, declarations of every library checked (skipLibCheck: false),
 * Node's module rules. TypeScript itself and @types/node are the consumer's own tools, not our
 * dependencies, so they come from this repository rather than the consumer's install.
 */
export function writeConsumerTsconfig(dir: string, typeRoots: string): void {
  const tsconfig = {
    compilerOptions: {
      strict: true,
      skipLibCheck: false,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      target: 'ES2022',
      lib: ['ES2023'],
      types: ['node'],
      typeRoots: [typeRoots],
      noEmit: true,
    },
    include: ['*.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
}
