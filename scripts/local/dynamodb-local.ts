import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How the Java process ended: an exit code, or the signal that ended it. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  /** The Java process, for measuring what it uses. */
  pid: number | undefined;
  /** Settles when the Java process ends, whoever ended it. */
  exited: Promise<ProcessExit>;
  /** Stops the Java process (SIGTERM; SIGKILL to simulate a crash) and waits for it to exit. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface DynamoDbLocalOptions {
  /** Port to listen on; a free one when absent. */
  port?: number;
  /** Keep data in this folder (one database shared by all credentials); in memory when absent. */
  dbPath?: string;
  /** How long to wait for it to answer. */
  readyTimeoutMs?: number;
}

/** The only interface DynamoDB Local listens on. */
export const DYNAMODB_LOCAL_HOST = '127.0.0.1';

/** The official DynamoDB Local jar, as shipped inside the amplify-dynamodb-simulator package. */
export function emulatorDirectory(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');
}

/** Jetty configuration that starts the jar's server on loopback and ties its life to ours (see the file). */
const launcherConfig = (): string => fileURLToPath(new URL('./dynamodb-local.xml', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the real DynamoDB Local with the machine's Java and resolves once it answers requests. It
 * listens on 127.0.0.1 only, sends no telemetry, and exits when this process exits (normally, or
 * killed: the Java side watches its parent).
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  const port = options.port ?? (await freePort());
  const emulator = emulatorDirectory();
  // Owner-only: the database holds live session ids, which are bearer tokens.
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true, mode: 0o700 });
  const properties = {
    host: DYNAMODB_LOCAL_HOST,
    port: String(port),
    inMemory: String(options.dbPath === undefined),
    sharedDb: String(options.dbPath !== undefined),
    ...(options.dbPath ? { dbPath: options.dbPath } : {}),
  };
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(emulator, 'DynamoDBLocal_lib')}`,
      '-Dorg.eclipse.jetty.LEVEL=WARN',
      '-cp',
      join(emulator, 'DynamoDBLocal.jar'),
      'org.eclipse.jetty.xml.XmlConfiguration',
      ...Object.entries(properties).map(([name, value]) => `${name}=${value}`),
      launcherConfig(),
    ],
    { cwd: emulator, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' } },
  );
  const exited = new Promise<ProcessExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // A Node process that ends by any path but SIGKILL takes Java with it here; SIGKILL is the Java side's job.
  const stopWithUs = () => child.kill('SIGTERM');
  process.once('exit', stopWithUs);
  void exited.then(() => process.off('exit', stopWithUs));

  const output: string[] = [];
  const keep = (chunk: Buffer) => output.push(chunk.toString());
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const endpoint = `http://${DYNAMODB_LOCAL_HOST}:${port}`;
  try {
    await waitUntilReady(endpoint, child, output, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    child.kill('SIGKILL');
    const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' ? ' Java was not found: DynamoDB Local needs Java 11 or newer on PATH.' : '';
    throw new Error(`DynamoDB Local did not start on port ${port}.${hint}\n${output.join('')}`, { cause: error });
  }
  child.stdout?.off('data', keep);
  child.stderr?.off('data', keep);
  // Keep draining its output so a chatty JVM never blocks on a full pipe.
  child.stdout?.resume();
  child.stderr?.resume();
  return { endpoint, port, pid: child.pid, exited, stop: (signal = 'SIGTERM') => stopProcess(child, exited, signal) };
}

/** A failed Jetty configuration leaves the JVM running (DynamoDB Local's threads are not daemons), so watch for it. */
const CONFIGURATION_FAILED = /Exception in thread "main"/;

async function waitUntilReady(endpoint: string, child: ChildProcess, output: string[], timeoutMs: number): Promise<void> {
  const spawnFailure = new Promise<never>((_, reject) => child.once('error', reject));
  spawnFailure.catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (CONFIGURATION_FAILED.test(output.join(''))) throw new Error('its launcher configuration failed');
    // Any HTTP answer means the server is up; DynamoDB Local answers an unsigned GET with 400.
    // Each probe has its own deadline: a JVM that accepts and never answers must not stall start-up.
    const probe = fetch(endpoint, { signal: AbortSignal.timeout(Math.max(1, Math.min(1000, deadline - Date.now()))) }).then(
      (response) => (void response.body?.cancel(), true),
      () => false,
    );
    const up = await Promise.race([probe, spawnFailure]);
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no answer within ${timeoutMs} ms`);
}

async function stopProcess(child: ChildProcess, exited: Promise<ProcessExit>, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
