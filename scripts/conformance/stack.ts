/**
 * What the conformance suite talks to: the session service as `npm start` runs it (DynamoDB Local
 * + the local API, on free ports, data in a temporary folder), two example MCP servers as
 * `npm run example` runs them, and a round-robin proxy with no stickiness in front of both.
 */
import { join } from 'node:path';
import { startRoundRobinProxy, type RoundRobinProxy } from '../../test/support/round-robin-proxy.js';
import { freePort } from '../local/dynamodb-local.js';
import { launchTs, type Launched } from '../local/launch-ts.js';

/** The principal the proxy gives requests that bring none (the example requires one). */
export const CONFORMANCE_USER = 'conformance';
export const INSTANCES = ['A', 'B'] as const;

export interface Stack {
  /** The MCP endpoint behind the proxy. */
  mcpUrl: string;
  proxy: RoundRobinProxy;
  /** Everything each process printed, for a failure report. */
  output(): string;
}

/** Starting processes in order; `stop` ends whatever was started, newest first, even mid-start. */
export class StackRunner {
  private readonly processes: { name: string; launched: Launched }[] = [];
  private proxy: RoundRobinProxy | undefined;

  async start(dataDir: string, principal = CONFORMANCE_USER): Promise<Stack> {
    const servicePort = await freePort();
    // `npm start` itself: whatever it sets up (tables, routes), the suite gets the same.
    const service = await this.launch('session service', 'scripts/start-local.ts', {
      PORT: String(servicePort),
      MCP_SESSIONS_DATA_DIR: dataDir,
      DYNAMODB_ENDPOINT: '',
      // Its per-request JSON log lines are noise here; warnings and errors still show in a failure report.
      POWERTOOLS_LOG_LEVEL: 'WARN',
    }, /mcp-sessions listening on (http:\/\/\S+)/);
    const serviceUrl = /mcp-sessions listening on (http:\/\/\S+)/.exec(service.output())?.[1] ?? '';

    const started = await Promise.allSettled(
      INSTANCES.map((instance) =>
        // PORT 0: the system picks a free port, which the example prints.
        this.launch(`example ${instance}`, 'examples/mcp-server/main.ts', { PORT: '0', MCP_SESSIONS_URL: serviceUrl, INSTANCE: instance, ALLOWED_HOSTS: '' }, /listening on http:\/\/\S+\/mcp/),
      ),
    );
    const instances = started.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    });
    const targets = instances.map((launched) => /listening on (http:\/\/\S+)\/mcp/.exec(launched.output())?.[1] ?? '');
    this.proxy = await startRoundRobinProxy({ targets, defaultHeaders: { 'x-demo-user': principal } });
    const proxy = this.proxy;
    return {
      mcpUrl: `${proxy.url}/mcp`,
      proxy,
      output: () => this.processes.map(({ name, launched }) => `--- ${name}\n${launched.output()}`).join('\n'),
    };
  }

  private async launch(name: string, entry: string, env: Record<string, string>, ready: RegExp): Promise<Launched> {
    const launched = await launchTs(entry, env, ready);
    this.processes.push({ name, launched });
    return launched;
  }

  /** Ends everything this runner started; safe to call twice. */
  async stop(): Promise<void> {
    await this.proxy?.close();
    this.proxy = undefined;
    const running = this.processes.splice(0).reverse();
    // The examples first (they talk to the service), then the service, which stops DynamoDB Local.
    for (const { launched } of running) await launched.stop('SIGTERM');
  }

  /**
   * Last resort at exit, when there is no time to wait: SIGTERM, which tsx passes on to the process
   * it runs (SIGKILL would end tsx alone and orphan that one).
   */
  killNow(): void {
    for (const { launched } of this.processes) if (launched.child.exitCode === null) launched.child.kill('SIGTERM');
  }
}

export const dataDirIn = (tempDir: string): string => join(tempDir, 'dynamodb');
