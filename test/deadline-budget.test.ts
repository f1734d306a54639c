import { describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET as B, deadlineSignal, sessionClientWorstCaseMs, untilAborted } from '../lib/deadline-budget.js';

/** The waits nest as README "Operations" says; a change to one number that breaks the nesting fails here. */
describe('the deadline budget adds up', () => {
  it('a DynamoDB attempt fits in the sweep, the sweep in the invocation deadline', () => {
    expect(B.dynamoConnectTimeoutMs).toBeLessThan(B.dynamoRequestTimeoutMs);
    expect(B.dynamoRequestTimeoutMs).toBeLessThanOrEqual(B.sweepDeadlineMs);
    expect(B.sweepDeadlineMs).toBeLessThan(B.handlerDeadlineMs);
  });

  it('the invocation deadline ends before Lambda would cut the function off, with time to answer', () => {
    expect(B.handlerDeadlineMs + 1000).toBeLessThanOrEqual(B.lambdaTimeoutSeconds * 1000);
    expect(B.answerMarginMs).toBeGreaterThan(0);
    expect(B.handlerDeadlineMs + B.answerMarginMs).toBeLessThan(B.lambdaTimeoutSeconds * 1000);
  });

  it("the API's 503 arrives before SessionClient gives up on the attempt (deadline + API Gateway + a cold start)", () => {
    expect(B.handlerDeadlineMs + 1000).toBeLessThanOrEqual(B.sessionClientAttemptTimeoutMs);
  });

  it('API Gateway waits for the function a little past its timeout, and SessionClient for API Gateway a little less', () => {
    expect(B.lambdaTimeoutSeconds).toBeLessThan(B.apiGatewayIntegrationTimeoutSeconds);
    expect(B.apiGatewayIntegrationTimeoutSeconds).toBeLessThan(30); // API Gateway's default and maximum
    // The attempt timeout only has to outlast the function's deadline: a stuck function is the
    // integration timeout's to end, and the client's retry of it is bounded by its attempts.
    expect(B.sessionClientAttemptTimeoutMs).toBeLessThan(B.apiGatewayIntegrationTimeoutSeconds * 1000);
  });

  it("SessionClient waits the API's Retry-After (1 s), and a whole call is bounded", () => {
    expect(B.sessionClientMaxRetryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(sessionClientWorstCaseMs()).toBe(3 * 3000 + 2 * 1000);
  });
});

describe('deadlineSignal and untilAborted', () => {
  it('a deadline under a caller signal fires on its own time, and follows the caller when it aborts first', async () => {
    const caller = new AbortController();
    const own = deadlineSignal(30, caller.signal);
    await new Promise((resolve) => own.addEventListener('abort', resolve, { once: true }));
    expect((own.reason as Error).name).toBe('TimeoutError');
    expect(caller.signal.aborted).toBe(false);
    const followed = deadlineSignal(60_000, caller.signal);
    caller.abort(new Error('caller went away'));
    expect(followed.aborted).toBe(true);
    expect(deadlineSignal(60_000, caller.signal).aborted).toBe(true);
  });

  it('untilAborted ends a call whose peer stalls past the deadline, and passes results through', async () => {
    const never = new Promise<string>(() => undefined);
    await expect(untilAborted(never, deadlineSignal(20))).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(untilAborted(Promise.resolve('ok'), deadlineSignal(60_000))).resolves.toBe('ok');
    await expect(untilAborted(Promise.resolve('ok'), undefined)).resolves.toBe('ok');
  });
});
