import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export interface Launched {
  child: ChildProcessWithoutNullStreams;
  /** Everything it printed so far. */
  output: () => string;
  /** Sends SIGINT or SIGTERM and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * The examples import `mcp-sessions` as a user would; in this repo that export condition resolves it
 * to the TypeScript source rather than dist/ (the npm scripts pass the same flag).
 */
export const SOURCE_CONDITION_FLAG = '--conditions=mcp-sessions-source';

/** tsx from this repo, as the npm scripts run it. */
export const TSX = join('node_modules', '.bin', 'tsx');

/** Runs a TypeScript entry point with tsx (as `npm start` and `npm run example` do) until it prints `ready`; for tests and the benchmark. */
export const launchTs = (entry: string, env: Record<string, string>, ready: RegExp, timeoutMs?: number): Promise<Launched> =>
  launchProcess(TSX, [SOURCE_CONDITION_FLAG, entry], env, ready, timeoutMs);

/** Runs a command until it prints `ready`. */
export async function launchProcess(command: string, args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = 45_000): Promise<Launched> {
  const entry = [command, ...args].join(' ');
  const child = spawn(command, args, { env: { ...process.env, ...env } });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${entry} did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
