import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a user's shell would give a command: ours, without what `npm test` adds for its
 * own script (npm_package_*, npm_lifecycle_*, the repository as npm's local prefix) or what would
 * point Node at our TypeScript sources (NODE_OPTIONS with the mcp-sessions-source condition).
 * Registry, cache and certificate settings stay, so npm works as it does here.
 */
export function userEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^npm_(package_|lifecycle_|command$|config_local_prefix$)/.test(name) || name === 'INIT_CWD' || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  return { ...env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

/** Runs a command to its end; rejects, with everything it printed, unless it exits 0. */
export function run(command: string, args: string[], options: { cwd: string; env?: Record<string, string>; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: userEnvironment(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code, stdout, stderr };
      if (code === 0) resolve(result);
      else reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) ${signal ? `was killed (${signal}) after ${options.timeoutMs} ms` : `exited ${code}`}\n${stdout}\n${stderr}`));
    });
  });
}

/** Runs `node <args>` and parses the JSON its last line of output prints. */
export async function nodeJson<T>(cwd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<T> {
  const { stdout } = await run(process.execPath, args, { cwd, env, timeoutMs });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}
