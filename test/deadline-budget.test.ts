import { describe, expect, it } from 'vitest';
import { DEADLINE_BUDGET as B, sessionClientWorstCaseMs } from '../lib/deadline-budget.js';

/** The waits nest as README "Operations" says; a change to one number that breaks the nesting fails here. */
describe('the deadline budget adds up', () => {
  it('a DynamoDB attempt fits in the sweep, the sweep in the invocation deadline', () => {
    expect(B.dynamoConnectTimeoutMs).toBeLessThan(B.dynamoRequestTimeoutMs);
    expect(B.dynamoRequestTimeoutMs).toBeLessThanOrEqual(B.sweepDeadlineMs);
    expect(B.sweepDeadlineMs).toBeLessThan(B.handlerDeadlineMs);
  });

  it('the invocation deadline ends before Lambda would cut the function off, with time to answer', () => {
    expect(B.handlerDeadlineMs + 1000).toBeLessThanOrEqual(B.lambdaTimeoutSeconds * 1000);
  });

  it("the API's 503 arrives before SessionClient gives up on the attempt (deadline + API Gateway + a cold start)", () => {
    expect(B.handlerDeadlineMs + 1000).toBeLessThanOrEqual(B.sessionClientAttemptTimeoutMs);
  });

  it('SessionClient waits the API\'s Retry-After (1 s) and its whole call stays far from API Gateway\'s 30 s', () => {
    expect(B.sessionClientMaxRetryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(sessionClientWorstCaseMs()).toBe(3 * 3000 + 2 * 1000);
    expect(sessionClientWorstCaseMs()).toBeLessThan(B.apiGatewayIntegrationTimeoutMs);
    expect(B.lambdaTimeoutSeconds * 1000).toBeLessThan(B.apiGatewayIntegrationTimeoutMs);
  });
});
