/**
 * The examples are what a user copies: they import this package through its entry points
 * (`mcp-sessions`, `mcp-sessions/mcp`), never by a relative path into lib/ that a user would not have.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const EXAMPLES = join(ROOT, 'examples');
const PACKAGE_NAME = 'mcp-sessions';

/** Every module specifier in a source file: static imports and re-exports, side-effect imports, dynamic import() of a literal. */
function moduleSpecifiers(source: string): string[] {
  const patterns = [/\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(c|m)?(t|j)sx?$/.test(entry.name) ? [path] : [];
  });
}

/** The problems with one file's imports, as `file: specifier (why)`; empty when it only uses the entry points. */
function importProblems(file: string, source: string, entryPoints: readonly string[]): string[] {
  return moduleSpecifiers(source).flatMap((specifier) => {
    const where = `${relative(ROOT, file)}: ${specifier}`;
    if (specifier.startsWith('.')) {
      const target = resolve(dirname(file), specifier);
      return target === EXAMPLES || target.startsWith(EXAMPLES + sep) ? [] : [`${where} (relative path outside examples/)`];
    }
    if (specifier === PACKAGE_NAME || specifier.startsWith(`${PACKAGE_NAME}/`)) {
      return entryPoints.includes(specifier) ? [] : [`${where} (not an entry point of the package)`];
    }
    return [];
  });
}

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
const entryPoints = Object.keys(packageJson.exports).map((key) => (key === '.' ? packageJson.name : `${packageJson.name}/${key.slice(2)}`));
const files = sourceFiles(EXAMPLES);

describe('the examples import from the package entry points (mcp-sessions/...), as a user would, not from relative ../../lib paths', () => {
  it('the package is mcp-sessions and its entry points are the ones the examples may use', () => {
    expect(packageJson.name).toBe(PACKAGE_NAME);
    expect(entryPoints).toEqual(expect.arrayContaining(['mcp-sessions', 'mcp-sessions/mcp']));
  });

  it('no file under examples/ imports a relative path outside examples/ or a non-entry-point path of the package', () => {
    expect(files.length).toBeGreaterThan(0);
    const problems = files.flatMap((file) => importProblems(file, readFileSync(file, 'utf8'), entryPoints));
    expect(problems).toEqual([]);
  });

  it('the examples do use both entry points (so the check above is about real imports)', () => {
    const used = new Set(files.flatMap((file) => moduleSpecifiers(readFileSync(file, 'utf8'))));
    expect(used).toContain('mcp-sessions');
    expect(used).toContain('mcp-sessions/mcp');
  });

  it('the check catches the imports it forbids: ../../lib paths, deep package paths, dynamic and side-effect imports', () => {
    const file = join(EXAMPLES, 'mcp-server', 'app.ts');
    const bad = [
      "import { sessionGate } from '../../lib/mcp/session-gate.js';",
      "export type { Logger } from '../../lib/logger.js';",
      "import '../../scripts/local/handlers.js';",
      "const lib = await import('../../lib/index.js');",
      "import { x } from 'mcp-sessions/lib/errors.js';",
    ].join('\n');
    expect(importProblems(file, bad, entryPoints)).toHaveLength(5);
    const good = "import { SessionClient } from 'mcp-sessions';\nimport { toNodeListener } from 'mcp-sessions/mcp';\nimport { exampleMcpHandler } from './app.js';\nimport { z } from 'zod';";
    expect(importProblems(file, good, entryPoints)).toEqual([]);
  });
});
