import { defineConfig } from 'vitest/config';

export default defineConfig({
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
