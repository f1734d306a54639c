/**
 * The example MCP server as `npm run example` runs it (tsx, one process per instance) over the
 * session service as `npm start` serves it (the local API over the real handlers and DynamoDB
 * Local). The service runs in the test's process, so a test sees every message an instance stores
 * in the session streams - the header naming the instance that runs a request, the result it wrote.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createAppendMessageHandler } from '../../lib/handlers/append-message.js';
import { createCheckHandler } from '../../lib/handlers/check.js';
import { createDestroyHandler } from '../../lib/handlers/destroy.js';
import { createLastSeqHandler } from '../../lib/handlers/last-seq.js';
import { createReadMessagesHandler } from '../../lib/handlers/read-messages.js';
import { createRemoveStreamHandler } from '../../lib/handlers/remove-stream.js';
import { createStartHandler } from '../../lib/handlers/start.js';
import { createUpdateStateHandler } from '../../lib/handlers/update-state.js';
import type { CallOptions } from '../../lib/session-store.js';
import type { ReadOptions, SessionStreams, StreamMessage } from '../../lib/session-streams.js';
import { startLocalApi } from '../../scripts/local/api-server.js';
import { launchTs, type Launched } from '../../scripts/local/launch-ts.js';
import type { Conditions } from './conditions.js';
import { createStreamsTestTable, createTestTable, storeOn, streamsOn } from './dynamo.js';

/** A message an instance stored in a session's streams, through the service. */
export interface StoredMessage {
  sessionId: string;
  streamId: string;
  seq: number;
  message: unknown;
}

/** Session streams that report each stored message (after it is stored), and otherwise only pass calls on. */
class ReportingStreams implements SessionStreams {
  constructor(
    private readonly inner: SessionStreams,
    private readonly stored: (message: StoredMessage) => void,
  ) {}

  async append(sessionId: string, streamId: string, message: unknown, options?: CallOptions): Promise<number> {
    const seq = await this.inner.append(sessionId, streamId, message, options);
    this.stored({ sessionId, streamId, seq, message });
    return seq;
  }

  readAfter(sessionId: string, streamId: string, afterSeq: number, options?: ReadOptions): Promise<StreamMessage[]> {
    return this.inner.readAfter(sessionId, streamId, afterSeq, options);
  }

  lastSeq(sessionId: string, streamId: string, options?: CallOptions): Promise<number> {
    return this.inner.lastSeq(sessionId, streamId, options);
  }

  removeStream(sessionId: string, streamId: string, options?: CallOptions): Promise<void> {
    return this.inner.removeStream(sessionId, streamId, options);
  }
}

export interface SessionService {
  url: string;
  /** Every message stored in any session's streams, in the order stored. */
  stored: StoredMessage[];
  close(): Promise<void>;
}

/** The local API over the real handlers, on fresh tables in the tests' DynamoDB Local; `conditions` hears of every stored message. */
export async function startSessionService(prefix: string, conditions: Conditions): Promise<SessionService> {
  const [sessionsTable, streamsTable] = await Promise.all([createTestTable(prefix), createStreamsTestTable(prefix)]);
  const sessions = storeOn(sessionsTable);
  const { streams: dynamoStreams, logger } = streamsOn(streamsTable, { clock: sessions.clock });
  const stored: StoredMessage[] = [];
  const streams = new ReportingStreams(dynamoStreams, (message) => {
    stored.push(message);
    conditions.changed();
  });
  const api = await startLocalApi(
    {
      start: createStartHandler(sessions.store, sessions.logger),
      check: createCheckHandler(sessions.store, sessions.logger),
      destroy: createDestroyHandler(sessions.store, sessions.logger),
      updateState: createUpdateStateHandler(sessions.store, sessions.logger),
      appendMessage: createAppendMessageHandler(streams, logger),
      readMessages: createReadMessagesHandler(streams, logger),
      lastSeq: createLastSeqHandler(streams, logger),
      removeStream: createRemoveStreamHandler(streams, logger),
    },
    { port: 0 },
  );
  return { url: api.url, stored, close: () => api.close() };
}

export interface ExampleProcess {
  /** Its INSTANCE, which it reports (session_info) and writes in the stream headers it stores. */
  name: string;
  /** Where it listens, e.g. `http://127.0.0.1:40123`. */
  origin: string;
  output(): string;
  /** SIGKILL, as a crash: no shutdown code runs. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (a clean stop), unless it is gone already. */
  stop(): Promise<void>;
}

/** The processes `launched` (tsx) started: tsx runs the entry point in a child node process. */
function childrenOf(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8')
      .split(' ')
      .filter((entry) => entry.trim() !== '')
      .map(Number),
  );
}

/**
 * The server's own process: SIGKILL to tsx would end tsx alone and leave the server running, so the
 * kill goes to tsx's child (the node process running main.ts), and tsx exits after it.
 */
function serverPid(launched: Launched): number {
  const tsx = launched.child.pid;
  if (tsx === undefined) throw new Error('the example was never started');
  const server = childrenOf(tsx).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('examples/mcp-server/main.ts'));
  if (server === undefined) throw new Error(`no process running examples/mcp-server/main.ts under tsx (pid ${tsx})`);
  return server;
}

/** `npm run example` with INSTANCE=`name`, on a free port, sessions in `serviceUrl`. */
export async function launchExample(name: string, serviceUrl: string): Promise<ExampleProcess> {
  const launched = await launchTs('examples/mcp-server/main.ts', { MCP_SESSIONS_URL: serviceUrl, PORT: '0', INSTANCE: name, ALLOWED_HOSTS: '' }, /listening on http:\/\/\S+\/mcp/);
  const origin = /listening on (http:\/\/\S+)\/mcp/.exec(launched.output())?.[1];
  if (origin === undefined) throw new Error(`example ${name} printed no address:\n${launched.output()}`);
  const exited = new Promise<void>((resolve) => {
    if (launched.child.exitCode !== null || launched.child.signalCode !== null) resolve();
    else launched.child.once('exit', () => resolve());
  });
  return {
    name,
    origin,
    output: launched.output,
    kill: async () => {
      process.kill(serverPid(launched), 'SIGKILL');
      await exited;
    },
    stop: async () => {
      await launched.stop();
    },
  };
}
