/**
 * What the conformance suite talks to: the session service as `npm start` runs it (DynamoDB Local
 * + the local API, on free ports, data in a temporary folder), two example MCP servers as
 * `npm run example` runs them, and a round-robin proxy with no stickiness in front of both.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../test/support/round-robin-proxy.js';
import { freePort } from '../local/dynamodb-local.js';
import { SOURCE_CONDITION_FLAG, TSX } from '../local/launch-ts.js';

/** The principal the proxy gives requests that bring none (the example requires one). */
export const CONFORMANCE_USER = 'conformance';
export const INSTANCES = ['A', 'B'] as const;

/** tsx compiling on a busy machine, DynamoDB Local's JVM starting: slow, but not this slow. */
const READY_TIMEOUT_MS = 90_000;
/** A process still running this long after SIGTERM is killed. */
const STOP_TIMEOUT_MS = 15_000;

export interface Stack {
  /** The MCP endpoint behind the proxy. */
  mcpUrl: string;
  proxy: RoundRobinProxy;
}

interface Started {
  name: string;
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<void>;
}

const running = (child: ChildProcessWithoutNullStreams) => child.exitCode === null && child.signalCode === null;

/**
 * Starts the processes and the proxy; `stop` ends whatever was started, newest first, even when
 * called mid-start. Each process is known from the moment it is spawned, so none is left behind.
 */
export class StackRunner {
  private readonly processes: Started[] = [];
  private proxy: RoundRobinProxy | undefined;
  private stopping: Promise<void> | undefined;

  async start(dataDir: string, principal = CONFORMANCE_USER): Promise<Stack> {
    // `npm start` itself: whatever it sets up (tables, routes), the suite gets the same.
    const service = await this.launch('session service', 'scripts/start-local.ts', {
      PORT: String(await freePort()),
      MCP_SESSIONS_DATA_DIR: dataDir,
      DYNAMODB_ENDPOINT: '',
      // Its per-request JSON log lines are noise here; warnings and errors still show.
      POWERTOOLS_LOG_LEVEL: 'WARN',
    }, /mcp-sessions listening on (http:\/\/\S+)/);
    const started = await Promise.allSettled(
      INSTANCES.map((instance) =>
        // PORT 0: the system picks a free port, which the example prints. ALLOWED_HOSTS empty: the
        // gate's loopback default, which the proxy's Host (passed on) must satisfy.
        this.launch(`example ${instance}`, 'examples/mcp-server/main.ts', { PORT: '0', MCP_SESSIONS_URL: service, INSTANCE: instance, ALLOWED_HOSTS: '' }, /listening on (http:\/\/\S+)\/mcp/),
      ),
    );
    const targets = started.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
    if (this.stopping !== undefined) throw new Error('stopped while starting');
    this.proxy = await startRoundRobinProxy({ targets, defaultHeaders: { 'x-demo-user': principal } });
    return { mcpUrl: `${this.proxy.url}/mcp`, proxy: this.proxy };
  }

  /** Runs a TypeScript entry point as the npm scripts do, resolving with the URL it prints once ready. */
  private async launch(name: string, entry: string, env: Record<string, string>, ready: RegExp): Promise<string> {
    if (this.stopping !== undefined) throw new Error('stopped while starting');
    const child = spawn(TSX, [SOURCE_CONDITION_FLAG, entry], { env: { ...process.env, ...env } });
    let output = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.processes.push({ name, child, output: () => output, exited });
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => fail('did not become ready in time'), READY_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        reject(new Error(`${name} ${why}:\n${output}`));
      };
      let url: string | undefined;
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        if (url !== undefined) return;
        url = ready.exec(output)?.[1];
        if (url === undefined) return;
        clearTimeout(timer);
        resolve(url);
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.once('error', (error) => fail(`could not start (${error.message})`));
      void exited.then(() => fail(`exited (code ${child.exitCode ?? child.signalCode})`));
    });
  }

  /** What each process printed, for a failure report. */
  outputs(): { name: string; output: string }[] {
    return this.processes.map(({ name, output }) => ({ name, output: output() }));
  }

  /** Ends everything this runner started, newest first; safe to call again (a second call waits for the same end). */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    await this.proxy?.close();
    // The examples first (they talk to the service), then the service, which stops DynamoDB Local.
    for (const started of [...this.processes].reverse()) {
      if (running(started.child)) started.child.kill('SIGTERM');
      const timer = setTimeout(() => started.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await started.exited;
      clearTimeout(timer);
    }
  }

  /**
   * Last resort at exit, when there is no time to wait: SIGTERM to every process still running,
   * which tsx passes on to the process it runs (SIGKILL would end tsx alone and orphan that one).
   */
  killNow(): void {
    for (const { child } of this.processes) if (running(child)) child.kill('SIGTERM');
  }
}

export const dataDirIn = (tempDir: string): string => join(tempDir, 'dynamodb');
