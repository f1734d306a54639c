import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { routeNames, routes } from '../../lib/routes.js';

/**
 * The Lambda handlers, one per route of lib/routes.ts, pre-bundled so the construct deploys them as plain assets: a consumer's
 * `cdk synth` then needs no esbuild, no tsx and no lock file of ours. The settings are the ones
 * infra/session-function.ts gives NodejsFunction (CJS, node24, minified, source map, AWS SDK bundled:
 * README, Performance), so both paths deploy the same code.
 */
export async function bundleFunctions(root: string, outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of routeNames) {
    const outfile = join(outDir, name, 'index.js');
    await build({
      entryPoints: [join(root, routes[name].entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      minify: true,
      // A separate index.js.map beside the bundle; the functions run with --enable-source-maps.
      sourcemap: true,
      // Everything, the AWS SDK included: nothing is resolved from the Lambda runtime's node_modules.
      external: [],
      logLevel: 'warning',
    });
    // The bundle is CommonJS wherever it sits: inside the installed package (whose package.json says
    // "type": "module") as much as in Lambda's /var/task. The marker ships in the asset too.
    writeFileSync(join(outDir, name, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
    written.push(outfile);
  }
  return written;
}
