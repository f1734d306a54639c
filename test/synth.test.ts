import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'mcp-sessions-cdk-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('`cdk synth` runs offline with no AWS credentials and bundles every function with the local esbuild', async () => {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '', CDK_DOCKER: 'false-docker-must-not-be-used' };
  await run(join('node_modules', '.bin', 'cdk'), ['synth', '--quiet', '--no-notices', '--output', out], { env, timeout: 120_000 });
  const template = JSON.parse(readFileSync(join(out, 'McpSessions.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }> };
  const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
  expect(functions).toHaveLength(3);
  for (const fn of functions) {
    const asset = String(fn.Properties.Code?.S3Key).replace(/\.zip$/, '');
    expect(existsSync(join(out, `asset.${asset}`, 'index.js'))).toBe(true);
  }
}, 120_000);
