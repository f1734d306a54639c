import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

export interface PackageManifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** Every file under `dir`, recursively, as absolute paths. */
export const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));

/**
 * The bare (package) specifiers a compiled file refers to, relative paths and Node builtins left out.
 * TypeScript's own pre-parser finds them (imports, exports, import(), require(), reference types),
 * skipping comments and strings that only look like imports.
 */
export function packageSpecifiers(source: string): string[] {
  const { importedFiles, typeReferenceDirectives } = ts.preProcessFile(source, true, true);
  const found = new Set<string>();
  for (const { fileName: specifier } of [...importedFiles, ...typeReferenceDirectives]) {
    if (specifier.startsWith('.') || specifier.startsWith('node:') || builtinModules.includes(specifier)) continue;
    found.add(specifier);
  }
  return [...found];
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * Types need @types/x for a package x that ships none (aws-lambda); `node` is the one exception a
 * consumer supplies: every TypeScript project on Node has @types/node, and pinning theirs is not ours to do.
 */
const typesPackage = (name: string): string => `@types/${name.startsWith('@') ? name.slice(1).replace('/', '__') : name}`;

/**
 * What the compiled package refers to that a consumer would not get by installing it: packages that
 * are neither dependencies nor peers (a devDependency, or one only present transitively). JavaScript
 * must find each package at run time; a declaration file, at the consumer's `tsc` under skipLibCheck: false.
 */
export function unavailableImports(distDir: string, manifest: PackageManifest): string[] {
  const available = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const problems: string[] = [];
  for (const file of filesUnder(distDir)) {
    const isDeclaration = file.endsWith('.d.ts');
    if (!isDeclaration && !file.endsWith('.js')) continue;
    for (const specifier of packageSpecifiers(readFileSync(file, 'utf8'))) {
      const name = packageName(specifier);
      const found = available.has(name) || (isDeclaration && (name === 'node' || available.has(typesPackage(name))));
      if (!found) problems.push(`${relative(distDir, file)} refers to ${specifier}, which is not a dependency or peer of the package`);
    }
  }
  return problems;
}
