import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { routeNames } from '../lib/routes.js';

const run = promisify(execFile);
const out = mkdtempSync(join(tmpdir(), 'mcp-sessions-cdk-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const cdk = join('node_modules', '.bin', 'cdk');
const offline = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '', AWS_REGION: '', AWS_DEFAULT_REGION: '', CDK_DOCKER: 'false-docker-must-not-be-used' };

type Resource = { Type: string; Properties: { Code?: { S3Key?: string }; Roles?: unknown[] } };

it('`cdk synth -c invokerRoleArns=…` runs offline with no AWS credentials, passes cdk-nag, and bundles every function with the local esbuild', async () => {
  // As documented: comma-separated, spaces and an empty entry tolerated.
  const invokers = ' arn:aws:iam::123456789012:role/front-end , ,arn:aws:iam::123456789012:role/other-front-end';
  await run(cdk, ['synth', '--quiet', '--no-notices', '--output', out, '-c', `invokerRoleArns=${invokers}`], { env: offline, timeout: 120_000 });
  const template = JSON.parse(readFileSync(join(out, 'McpSessions.template.json'), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = Object.values(template.Resources);
  const functions = resources.filter((r) => r.Type === 'AWS::Lambda::Function');
  expect(functions).toHaveLength(routeNames.length);
  for (const fn of functions) {
    const asset = String(fn.Properties.Code?.S3Key).replace(/\.zip$/, '');
    expect(existsSync(join(out, `asset.${asset}`, 'index.js'))).toBe(true);
  }
  // The app's stack holds McpSessionService under the id "Default": the retained table keeps the
  // logical id it had before the construct, so an update never replaces it.
  expect(template.Resources.Sessions8896A56D?.Type).toBe('AWS::DynamoDB::GlobalTable');
  expect(template.Resources.Streams72478C78?.Type).toBe('AWS::DynamoDB::GlobalTable');
  const granted = resources.filter((r) => r.Type === 'AWS::IAM::Policy').flatMap((r) => r.Properties.Roles ?? []);
  expect(granted.filter((role) => typeof role === 'string').sort()).toEqual(['front-end', 'other-front-end']);
}, 120_000);

it('`cdk synth -c sessionTtlSeconds=0` fails before bundling, naming sessionTtlSeconds', async () => {
  const failed = await run(cdk, ['synth', '--quiet', '--no-notices', '--output', join(out, 'refused'), '-c', 'sessionTtlSeconds=0'], { env: offline, timeout: 120_000 }).then(
    () => undefined,
    (error: unknown) => error as { code?: number; stderr?: string },
  );
  expect(failed?.code).not.toBe(0);
  expect(failed?.stderr).toContain('sessionTtlSeconds must be an integer >= 1, got "0"');
  expect(failed?.stderr).not.toContain('SESSION_TTL_SECONDS');
}, 120_000);
