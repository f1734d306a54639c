import { defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

/**
 * The examples import `mcp-sessions` and `mcp-sessions/mcp` as a user would; in this repo the package
 * resolves to itself, and this export condition picks the TypeScript source over dist/ (which only
 * `npm run build` makes).
 */
const SOURCE_CONDITION = 'mcp-sessions-source';

/**
 * Tests run in Vite's server-side (ssr) environment, so these are the conditions that apply; setting
 * them replaces the defaults, so ours comes first and Vitest's own defaults follow: Vite's server
 * conditions without `module`. Vitest also hands these to Node as `--conditions` for dependencies it
 * does not transform, and `module` would make Node load bundler-only builds (@aws-sdk's dist-es).
 */
const SERVER_CONDITIONS = [SOURCE_CONDITION, ...defaultServerConditions.filter((condition) => condition !== 'module')];

export default defineConfig({
  ssr: { resolve: { conditions: SERVER_CONDITIONS } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Test output stays readable: no request logs and no raw EMF metric lines (log-hygiene.test.ts
    // turns both back on for the real entry points and captures them).
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time on 2 cores: most test time is waiting (deadlines, DynamoDB Local, child
    // processes), and vitest's default here would be one worker.
    maxWorkers: 2,
  },
});
