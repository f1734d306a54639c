import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { performance } from 'node:perf_hooks';
import { DEADLINE_BUDGET, deadlineSignal } from '../deadline-budget.js';
import { StoreUnavailableError, errorName } from '../errors.js';
import type { Logger } from '../logger.js';
import { routeKey, routes } from '../routes.js';
import { sessionTag } from '../session-id.js';
import { InvalidStartInputError, InvalidStateChangeError } from '../session-store.js';
import { InvalidStreamInputError } from '../session-streams.js';
import { METRIC, noTelemetry, type MetricName, type Telemetry } from '../telemetry.js';
import { errorResponse, internalError, storeUnavailable, type HttpResponse } from './responses.js';

/** The slice of Lambda's context the wrapper uses; absent outside Lambda (local server, tests). */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** A handler as Lambda and the local server call it. */
export type HttpHandler = (event: APIGatewayProxyEventV2, context?: InvocationContext) => Promise<HttpResponse>;

/** What a route's handler gets besides the event: the invocation's one deadline, for every store call. */
export interface Invocation {
  signal: AbortSignal;
}

export type RouteHandler = (event: APIGatewayProxyEventV2, invocation: Invocation) => Promise<HttpResponse>;

export interface InstrumentOptions {
  logger: Logger;
  telemetry?: Telemetry | undefined;
  /** The invocation's deadline for all of its store calls (default from lib/deadline-budget.ts). */
  deadlineMs?: number;
}

/** Which metric each route's answer counts towards; a 503 anywhere is a store error. */
const OUTCOME_METRICS: Record<string, Partial<Record<number, MetricName>>> = {
  [routeKey(routes.start)]: { 201: METRIC.sessionsStarted },
  [routeKey(routes.check)]: { 200: METRIC.checksActive, 404: METRIC.checksInactive },
  [routeKey(routes.destroy)]: { 204: METRIC.destroys },
};

/**
 * Everything around a handler, in one place: one deadline per invocation (an AbortSignal shared by
 * all its store calls, never past Lambda's remaining time), failures mapped to responses (a store outage is a 503
 * the caller may retry - never a 404, which would make an MCP client drop a live session; anything
 * else a bare 500; rejected input a 400 with its problem code, or 413 when metadata or a message is too large), one structured
 * log line per request (route, status, latency, a short hash of the session id - never the id), and
 * the request's metrics. No response carries an error's text; logs carry only its name.
 */
export const instrumentHandler =
  ({ logger, telemetry = noTelemetry, deadlineMs = DEADLINE_BUDGET.handlerDeadlineMs }: InstrumentOptions, handle: RouteHandler): HttpHandler =>
  async (event, context) => {
    const started = performance.now();
    const remaining = context ? context.getRemainingTimeInMillis() - DEADLINE_BUDGET.answerMarginMs : deadlineMs;
    const signal = deadlineSignal(Math.max(0, Math.min(deadlineMs, remaining)));
    let response: HttpResponse;
    let failure: string | undefined;
    try {
      response = await handle(event, { signal });
    } catch (error) {
      const rejected = rejectedInput(error);
      if (rejected) {
        response = rejected;
      } else if (error instanceof StoreUnavailableError) {
        failure = errorName(error.cause);
        response = storeUnavailable();
      } else {
        failure = errorName(error);
        response = internalError();
      }
    }
    const metric = response.statusCode === 503 ? METRIC.storeErrors : OUTCOME_METRICS[event.routeKey]?.[response.statusCode];
    if (metric) telemetry.count(metric);
    telemetry.flush();
    const sessionId = event.pathParameters?.sessionId;
    const line = {
      route: event.routeKey,
      requestId: event.requestContext?.requestId,
      status: response.statusCode,
      latencyMs: Math.round((performance.now() - started) * 10) / 10,
      ...(sessionId ? { session: sessionTag(sessionId) } : {}),
      ...(failure ? { error: failure } : {}),
    };
    if (response.statusCode >= 500) logger.error(response.statusCode === 503 ? 'session store unavailable' : 'unhandled error', line);
    else logger.info('request', line);
    return response;
  };

/** The answer to input the library refused, by its problem code; undefined for any other error. */
function rejectedInput(error: unknown): HttpResponse | undefined {
  if (!(error instanceof InvalidStartInputError || error instanceof InvalidStateChangeError || error instanceof InvalidStreamInputError)) return undefined;
  const tooLarge = error.problem === 'metadata_too_large' || error.problem === 'message_too_large';
  return errorResponse(tooLarge ? 413 : 400, error.problem, `${error.message}.`);
}

/** The request body as text, whether or not API Gateway base64-encoded it. */
export const bodyText = (event: APIGatewayProxyEventV2): string =>
  event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
