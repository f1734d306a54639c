/**
 * `npm run build` refuses a package whose compiled code or declarations refer to something a
 * consumer would not get by installing it (scripts/build/check-imports.ts). test/package.test.ts
 * runs the build on the real package; these show the check can fail, and on what.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageName, packageSpecifiers, unavailableImports } from '../scripts/build/check-imports.js';

const work = mkdtempSync(join(tmpdir(), 'mcp-sessions-check-imports-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let count = 0;
/** A dist/ of the given files (path → content). */
function dist(files: Record<string, string>): string {
  const dir = join(work, `dist-${++count}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const manifest = {
  dependencies: { '@aws-sdk/client-dynamodb': '^3', '@types/aws-lambda': '^8' },
  peerDependencies: { 'aws-cdk-lib': '^2', constructs: '^10' },
};

describe('the build checks that declarations and JavaScript refer only to dependencies and peers', () => {
  it('finds package specifiers in imports, re-exports, import types, require and reference directives; not in comments or strings', () => {
    const source = [
      '/// <reference types="node" />',
      "import type { A } from '@aws-sdk/client-dynamodb/dist-types/x';",
      "export { B } from 'aws-cdk-lib/aws-iam';",
      "type C = import('constructs').Construct;",
      "const d = require('zod');",
      "// from 'esbuild' in a comment",
      "const e = \"import x from 'tsx'\";",
      "import { f } from './local.js';",
      "import { g } from 'node:http';",
      "import { h } from 'fs';",
    ].join('\n');
    expect(packageSpecifiers(source).sort()).toEqual(['@aws-sdk/client-dynamodb/dist-types/x', 'aws-cdk-lib/aws-iam', 'constructs', 'node', 'zod']);
    expect(packageName('@aws-sdk/client-dynamodb/dist-types/x')).toBe('@aws-sdk/client-dynamodb');
    expect(packageName('aws-cdk-lib/aws-iam')).toBe('aws-cdk-lib');
  });

  it('accepts dependencies and peers, types through their @types package, and @types/node (the consumer brings it)', () => {
    const ok = dist({
      'lib/a.d.ts': "/// <reference types=\"node\" />\nimport type { APIGatewayProxyEventV2 } from 'aws-lambda';\nimport { DynamoDBClient } from '@aws-sdk/client-dynamodb';\n",
      'infra/b.js': "import { Stack } from 'aws-cdk-lib';\nimport { Construct } from 'constructs';\n",
    });
    expect(unavailableImports(ok, manifest)).toEqual([]);
  });

  it('refuses a devDependency or a package only present transitively, naming the file and the specifier', () => {
    const bad = dist({
      'lib/a.d.ts': "import type { ZodType } from 'zod';\n",
      'lib/b.d.ts': "import type { AwsCredentialIdentity } from '@smithy/types';\n",
      'infra/app.js': "import { AwsSolutionsChecks } from 'cdk-nag';\n",
      // Types from @types/x are for declarations only: JavaScript needs the package itself.
      'lib/c.js': "import 'aws-lambda';\n",
    });
    expect(unavailableImports(bad, manifest).sort()).toEqual([
      'infra/app.js refers to cdk-nag, which is not a dependency or peer of the package',
      'lib/a.d.ts refers to zod, which is not a dependency or peer of the package',
      'lib/b.d.ts refers to @smithy/types, which is not a dependency or peer of the package',
      'lib/c.js refers to aws-lambda, which is not a dependency or peer of the package',
    ]);
  });
});
