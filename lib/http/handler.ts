import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { StoreUnavailableError, errorName } from '../errors.js';
import type { Logger } from '../logger.js';
import { internalError, storeUnavailable, type HttpResponse } from './responses.js';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;

/**
 * Maps failures to responses in one place: a store outage is a 503 the caller may retry (never a 404,
 * which would make an MCP client drop a live session); anything else is a bare 500. Neither response
 * carries the error's text - only the logs do, and then only its name.
 */
export const withErrorResponses = (logger: Logger, handle: HttpHandler): HttpHandler => async (event) => {
  try {
    return await handle(event);
  } catch (error) {
    const cause = error instanceof StoreUnavailableError ? error.cause : error;
    if (error instanceof StoreUnavailableError) {
      logger.warn(error.message, { route: event.routeKey, error: errorName(cause) });
      return storeUnavailable();
    }
    logger.error('unhandled error', { route: event.routeKey, error: errorName(cause) });
    return internalError();
  }
};

/** The request body as text, whether or not API Gateway base64-encoded it. */
export const bodyText = (event: APIGatewayProxyEventV2): string =>
  event.body === undefined ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
