import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../lib/mcp/sdk/index.js';
import { progress, round, type BenchContext } from '../support.js';
import {
  Latches,
  connectBenchClient,
  createMcpTables,
  eventually,
  isAnswer,
  isResume,
  isStandaloneGet,
  startMcpInstance,
  type BenchClient,
  type McpInstance,
  type Route,
} from '../support/mcp-instances.js';

export interface McpCostRow {
  operation: string;
  /** DynamoDB requests of both instances together (per event for the per-event rows). */
  requests: number;
  /** By instance, then by command. */
  byInstance: Record<string, Record<string, number>>;
  /** Idle rows only: requests per second over the window. */
  requestsPerSecond?: number;
  windowSeconds?: number;
}

export interface McpCostsResult {
  /** Events per detached call in the per-event rows. */
  events: number;
  rows: McpCostRow[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const total = (byCommand: Record<string, number>) => Object.values(byCommand).reduce((sum, n) => sum + n, 0);
const textOf = (result: unknown): string => (result as { content?: { text?: string }[] }).content?.[0]?.text ?? '';

/**
 * DynamoDB requests of MCP operations with sharedSessionHandler (mcp-sessions/mcp/sdk), two
 * instances in process behind the session gate, the official SDK client routing each request to
 * the instance picked (the worst a non-sticky balancer can do); default handler timings.
 */
export async function measureMcpCosts(context: BenchContext): Promise<McpCostsResult> {
  const tables = await createMcpTables(context.endpoint, 'mcp-costs');
  const latches = new Latches();
  const [a, b] = await Promise.all([startMcpInstance('A', tables, latches), startMcpInstance('B', tables, latches)]);
  const instances = [a, b];
  const clients: BenchClient[] = [];
  const rows: McpCostRow[] = [];
  const events = context.quick ? 20 : 50;
  const windowSeconds = context.quick ? 5 : 10;

  const reset = () => instances.forEach((instance) => instance.resetCounts());
  const snapshot = (): Record<string, Record<string, number>> => Object.fromEntries(instances.map((i) => [i.name, { ...i.requests() }]));
  const sum = (byInstance: Record<string, Record<string, number>>) => Object.values(byInstance).reduce((n, commands) => n + total(commands), 0);
  /** Waits until no instance has sent anything for 500 ms: work finishing after the client's answer (a relay's removal) counts too. */
  const settle = async () => {
    let last = -1;
    for (;;) {
      const now = sum(snapshot());
      if (now === last) return;
      last = now;
      await sleep(500);
    }
  };
  const connect = async (route: Route) => {
    const client = await connectBenchClient(route);
    clients.push(client);
    return client;
  };
  /** Counts what `operation` costs both instances, settled. */
  const measure = async (label: string, operation: () => Promise<void>): Promise<Record<string, Record<string, number>>> => {
    await settle();
    reset();
    await operation();
    await settle();
    const byInstance = snapshot();
    rows.push({ operation: label, requests: sum(byInstance), byInstance });
    return byInstance;
  };

  try {
    // 1-3 refuse the standalone GET: its idle polling would be counted too.
    progress('tools/call and elicitation');
    const onA = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : a));
    await measure('tools/call (echo)', async () => {
      if (textOf(await onA.client.callTool({ name: 'echo', arguments: { text: 'hi' } })) !== 'hi') throw new Error('echo: wrong answer');
    });
    const ask = (client: BenchClient) => async () => {
      const answer = textOf(await client.client.callTool({ name: 'ask' }));
      if (!answer.includes('"Ada"')) throw new Error(`ask: unexpected answer ${answer}`);
    };
    await measure('elicitation, answered on the same instance', ask(onA));
    const answerOnB = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : isAnswer(outgoing) ? b : a));
    await measure('elicitation, answered on the other instance', ask(answerOnB));
    if (answerOnB.sent.filter((s) => isAnswer(s.outgoing)).some((s) => s.instance !== 'B')) throw new Error('the answer did not go to B');

    progress(`detached calls: 0 and ${events} progress notifications, resumed on the other instance`);
    const resumeOnB = await connect((outgoing) => (isStandaloneGet(outgoing) ? 'refuse' : isResume(outgoing) ? b : a));
    const detached = (n: number) => async () => {
      let received = 0;
      const result = await resumeOnB.client.callTool({ name: 'progress', arguments: { n } }, CallToolResultSchema, {
        onprogress: () => {
          received++;
        },
      });
      if (textOf(result) !== `sent ${n}` || received !== n) throw new Error(`progress ${n}: got ${received} notifications, answer ${textOf(result)}`);
    };
    const none = await measure('detached call, 0 events, resumed on B', detached(0));
    const many = await measure(`detached call, ${events} events, resumed on B`, detached(events));
    if (!resumeOnB.sent.some((s) => isResume(s.outgoing) && s.instance === 'B' && s.status === 200)) throw new Error('no resumption on B');
    const perEvent = (label: string, instance: string) => {
      const byCommand: Record<string, number> = {};
      const commands = new Set([...Object.keys(none[instance] ?? {}), ...Object.keys(many[instance] ?? {})]);
      for (const command of commands) {
        const extra = ((many[instance]?.[command] ?? 0) - (none[instance]?.[command] ?? 0)) / events;
        if (extra !== 0) byCommand[command] = round(extra, 3);
      }
      rows.push({ operation: label, requests: round(total(byCommand), 3), byInstance: { [instance]: byCommand } });
    };
    perEvent('per event stored (A, the worker)', 'A');
    perEvent('per event replayed (B, the resumer)', 'B');

    const idle = async (label: string, whileIdle: () => Promise<void> = async () => undefined) => {
      reset();
      const started = Date.now();
      await sleep(windowSeconds * 1000);
      const seconds = (Date.now() - started) / 1000;
      const byInstance = snapshot();
      rows.push({ operation: label, requests: sum(byInstance), byInstance, requestsPerSecond: round(sum(byInstance) / seconds, 2), windowSeconds: round(seconds, 1) });
      await whileIdle();
    };

    progress(`idle standalone GET stream, ${windowSeconds} s`);
    const standalone = await connect(() => a);
    await eventually(() => standalone.sent.some((s) => isStandaloneGet(s.outgoing) && s.status === 200));
    await sleep(2000); // past the faster polls that follow the stream's opening
    await idle('idle standalone GET stream (served by A)');
    await standalone.close();
    clients.splice(clients.indexOf(standalone), 1);

    progress(`idle resumed stream on B, detached call running on A: first heartbeat, then ${windowSeconds} s`);
    const resumes = () => resumeOnB.sent.filter((s) => isResume(s.outgoing) && s.status === 200).length;
    const resumedBefore = resumes();
    const call = resumeOnB.client.callTool({ name: 'hang', arguments: { latch: 'idle' } });
    await eventually(() => resumes() > resumedBefore);
    // The first beat comes two intervals after the detach (the detach's own writes count as a sign of
    // life); the window starts half an interval after a beat, so it holds whole intervals' beats.
    reset();
    await eventually(() => (a.requests().PutItemCommand ?? 0) > 0, 4 * DEFAULT_HEARTBEAT_INTERVAL_MS);
    await sleep(DEFAULT_HEARTBEAT_INTERVAL_MS / 2);
    await idle('idle resumed stream (B) on a running detached call (A: heartbeats)');
    latches.open('idle');
    if (textOf(await call) !== 'done') throw new Error('hang: wrong answer');
    return { events, rows };
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await Promise.all(instances.map((instance) => instance.close()));
  }
}
