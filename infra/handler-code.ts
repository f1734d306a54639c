import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { routeNames, routes, type RouteName } from '../lib/routes.js';
import { InvalidSettingError } from './settings.js';

/**
 * Where the handlers' code comes from (one per route of lib/routes.ts).
 * - `prebuilt` (the default): the bundles the package ships in `dist/functions/<route name>/index.js`
 *   (`npm run build` writes them with esbuild), deployed as plain assets. A consumer's `cdk synth`
 *   then needs no esbuild, no tsx and no lock file of ours.
 * - `bundle-from-source`: this repository's own app, bundling `functions/*.ts` at synth with
 *   NodejsFunction (esbuild and `package-lock.json`), so `cdk synth` needs no build step first.
 */
export type HandlerCode = 'prebuilt' | 'bundle-from-source';

export const HANDLER_CODES: readonly HandlerCode[] = ['prebuilt', 'bundle-from-source'];

export type ResolvedHandlerCode =
  | { kind: 'prebuilt'; directories: Readonly<Record<RouteName, string>> }
  | { kind: 'bundle-from-source'; projectRoot: string; entries: Readonly<Record<RouteName, string>>; lockFile: string };

/**
 * The bundles' default location, next to this module's own: compiled, the construct is
 * `dist/infra/*.js` in the package and the bundles are `dist/functions`; run from the `.ts` source
 * (this repository's tests and app) it is `infra/*.ts`, and `npm run build` writes the same
 * `dist/functions` under the repository root.
 */
export function defaultBundlesDirectory(moduleUrl: string = import.meta.url): string {
  const moduleDirectory = dirname(fileURLToPath(moduleUrl));
  return moduleUrl.endsWith('.ts') ? join(moduleDirectory, '..', 'dist', 'functions') : join(moduleDirectory, '..', 'functions');
}

/** The repository root when run from source (functions/*.ts, package-lock.json). */
const SOURCE_ROOT = join(import.meta.dirname, '..');

/**
 * Checks, before any construct is made, that the code the functions need is there, so a missing
 * build fails synth with what to do rather than deep inside an asset or esbuild.
 */
export function resolveHandlerCode(handlerCode: HandlerCode | undefined, bundlesDirectory: string | undefined): ResolvedHandlerCode {
  const kind = handlerCode ?? 'prebuilt';
  if (!HANDLER_CODES.includes(kind)) throw new InvalidSettingError(`handlerCode must be "prebuilt" or "bundle-from-source", got ${JSON.stringify(kind)}`);
  if (kind === 'bundle-from-source') {
    if (bundlesDirectory !== undefined) throw new InvalidSettingError('bundlesDirectory applies to handlerCode "prebuilt" only; "bundle-from-source" bundles functions/*.ts');
    const entries = Object.fromEntries(routeNames.map((name) => [name, join(SOURCE_ROOT, routes[name].entry)])) as Record<RouteName, string>;
    const lockFile = join(SOURCE_ROOT, 'package-lock.json');
    const missing = [...Object.values(entries), lockFile].filter((file) => !existsSync(file));
    if (missing.length > 0) {
      throw new Error(
        `McpSessionService: handlerCode "bundle-from-source" bundles this repository's sources, and ${missing.join(', ')} is missing. ` +
          'An installed mcp-sessions package ships the handlers pre-bundled: use handlerCode "prebuilt" (the default).',
      );
    }
    return { kind, projectRoot: SOURCE_ROOT, entries, lockFile };
  }
  const root = bundlesDirectory ?? defaultBundlesDirectory();
  const directories = Object.fromEntries(routeNames.map((name) => [name, join(root, name)])) as Record<RouteName, string>;
  const missing = routeNames.map((name) => join(directories[name], 'index.js')).filter((file) => !existsSync(file));
  if (missing.length > 0) {
    throw new Error(
      `McpSessionService: no prebuilt handler bundle at ${missing.join(', ')}. ` +
        'In the mcp-sessions repository, run `npm run build` (it writes dist/functions), or use handlerCode "bundle-from-source"; ' +
        'an installed package ships them (reinstall it if they are gone).',
    );
  }
  return { kind, directories };
}
