import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../scripts/local/manual-clock.js';
import { documentClient } from '../../lib/dynamodb-client.js';
import { DynamoSessionStore } from '../../lib/dynamo-session-store.js';
import { silentLogger } from '../../lib/logger.js';
import { countRequests } from '../../scripts/local/request-counter.js';

export interface OperationCount {
  operation: string;
  requests: number;
  byCommand: Record<string, number>;
  capacityUnits: number;
}

export interface SteadyState {
  sessions: number;
  checks: number;
  /** Over how long the checks were spread (simulated with the clock). */
  spreadSeconds: number;
  requests: number;
  slides: number;
  requestsPerCheck: number;
}

export interface RequestCountResult {
  operations: OperationCount[];
  steady: SteadyState[];
}

/**
 * Scenario 1: DynamoDB requests (and capacity) per operation, counted with SDK middleware. The
 * test suite runs this same function and asserts the budgets, so the numbers cannot drift apart.
 */
export async function measureRequestCounts(raw: DynamoDBClient, tableName: string, options: { checks?: number; sessions?: number } = {}): Promise<RequestCountResult> {
  const checks = options.checks ?? 10_000;
  const sessionCount = options.sessions ?? 100;
  const ttl = 3600;
  const clock = new ManualClock();
  const counts = countRequests(raw, { askForCapacity: true });
  const store = new DynamoSessionStore({ client: documentClient(raw), tableName, clock: clock.now, logger: silentLogger, ttlSeconds: ttl, pruneScanLimit: 100 });

  const operations: OperationCount[] = [];
  const measure = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
    counts.reset();
    const result = await run();
    operations.push({ operation, requests: counts.total, byCommand: { ...counts.byCommand }, capacityUnits: counts.capacityUnits });
    return result;
  };

  const { sessionId } = await measure('start', () => store.start());
  await measure('check, fresh session', () => store.check(sessionId));
  clock.advance(ttl / 2 + 1);
  await measure('check in slide window, first', () => store.check(sessionId));
  await measure('check in slide window, second', () => store.check(sessionId));
  await measure('destroy', () => store.destroy(sessionId));
  await measure('check, malformed id', () => store.check('not-a-session-id'));

  const steady: SteadyState[] = [];
  // 100 sessions checked 100 times each: within a busy half hour, and spread over two hours.
  for (const spreadSeconds of [25 * 60, 2 * 3600]) {
    // Ten starts at a time: what is counted here is checks, and a burst of 100 concurrent starts
    // would only measure how DynamoDB Local queues them against the store's one-second attempts.
    const sessions: { sessionId: string }[] = [];
    while (sessions.length < sessionCount) {
      sessions.push(...(await Promise.all(Array.from({ length: Math.min(10, sessionCount - sessions.length) }, () => store.start()))));
    }
    counts.reset();
    for (let i = 0; i < checks; i++) {
      const session = sessions[i % sessions.length];
      if (session) await store.check(session.sessionId);
      clock.advance(spreadSeconds / checks);
    }
    const slides = counts.byCommand.UpdateItemCommand ?? 0;
    steady.push({ sessions: sessionCount, checks, spreadSeconds, requests: counts.total, slides, requestsPerCheck: counts.total / checks });
    clock.advance(2 * ttl);
  }
  return { operations, steady };
}
