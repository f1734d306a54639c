/**
 * Every wait in the service, in one place, and how the waits nest. A hung DynamoDB (a half-open
 * keep-alive socket after a Lambda thaw is the usual cause) must end in a fast 503 the caller can
 * retry, never in a request that runs until something outside us cuts it off.
 *
 *   DynamoDB attempt      connect <= 500 ms, whole request <= 1,000 ms (throwOnRequestTimeout), 3 attempts
 *   sweep (prune) page    <= 1,000 ms, inside the invocation's deadline, never delays the start past it
 *   handler invocation    <= 2,000 ms for all of its DynamoDB calls together (one shared AbortSignal)
 *   Lambda timeout        5 s: the deadline plus logging, metrics and a cold start's first request
 *   SessionClient attempt 3,000 ms: the deadline plus API Gateway and a cold start, so the API's 503
 *                         arrives before the client gives up on the attempt
 *   SessionClient call    3 attempts, backoff or Retry-After (1 s) between: <= 11 s in the worst case
 *   gate, initialize      the MCP handler's answer read within 10 s, else 504 (nothing stored)
 *   API Gateway           integration timeout 6 s: one second past the Lambda timeout (not the
 *                         30 s default), so a function that is somehow stuck holds no caller long
 *
 * test/deadline-budget.test.ts checks that these add up.
 */
export const DEADLINE_BUDGET = {
  dynamoConnectTimeoutMs: 500,
  dynamoRequestTimeoutMs: 1000,
  dynamoMaxAttempts: 3,
  sweepDeadlineMs: 1000,
  handlerDeadlineMs: 2000,
  /** How long the gate waits for an MCP handler's answer to initialize (a stream may trickle forever). */
  initializeAnswerMs: 10_000,
  /** Kept back from Lambda's remaining time to log, flush metrics and answer once the deadline fires. */
  answerMarginMs: 500,
  lambdaTimeoutSeconds: 5,
  sessionClientAttemptTimeoutMs: 3000,
  sessionClientMaxAttempts: 3,
  /** First backoff step between SessionClient attempts; later ones double, with full jitter. */
  sessionClientBaseDelayMs: 100,
  /** The longest Retry-After SessionClient waits for; the API sends 1 s. */
  sessionClientMaxRetryAfterMs: 1000,
  apiGatewayIntegrationTimeoutSeconds: 6,
} as const;

/** The longest a SessionClient call can take before it throws StoreUnavailableError. */
export const sessionClientWorstCaseMs = (budget: typeof DEADLINE_BUDGET = DEADLINE_BUDGET): number =>
  budget.sessionClientMaxAttempts * budget.sessionClientAttemptTimeoutMs + (budget.sessionClientMaxAttempts - 1) * budget.sessionClientMaxRetryAfterMs;

/**
 * A deadline that also ends when `outer` does (the caller's own deadline, if any). Built from a
 * timer and a controller rather than `AbortSignal.any([outer, AbortSignal.timeout(ms)])`: `any`
 * holds its sources weakly, so the timeout signal can be collected before it fires and the
 * deadline silently never comes (seen: a check against a stalled DynamoDB ending at 3 s, on the
 * SDK's own timeouts, instead of at its 2 s deadline).
 */
export function deadlineSignal(ms: number, outer?: AbortSignal): AbortSignal {
  const controller = new AbortController();
  if (outer?.aborted) {
    controller.abort(outer.reason);
    return controller.signal;
  }
  const timer = setTimeout(() => controller.abort(new DOMException(`deadline of ${ms} ms passed`, 'TimeoutError')), ms);
  timer.unref(); // a deadline alone never keeps a process alive
  const followOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', followOuter, { once: true });
  controller.signal.addEventListener('abort', () => {
    clearTimeout(timer);
    outer?.removeEventListener('abort', followOuter);
  }, { once: true });
  return controller.signal;
}

/**
 * `work`, or a rejection with the signal's reason as soon as it aborts. The SDK honours an abort
 * until the response headers arrive, but a body that stalls after them is only ended by the
 * socket timeout, up to one attempt later: this keeps the caller's deadline exact. What `work`
 * does after the abort is bounded by those timeouts and ignored.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  work.catch(() => undefined); // its late failure, after we have answered, is nobody's to handle
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Waits `ms`, or less if the signal aborts first (never rejects: the caller checks the signal).
 * `unref`: a wait that alone should not keep the process alive (background polls).
 */
export function sleepUnlessAborted(ms: number, signal?: AbortSignal, options: { unref?: boolean } = {}): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (options.unref) timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
