import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { StoreUnavailableError, errorName } from '../errors.js';
import { InvalidStartInputError } from '../session-store.js';
import type { Logger } from '../logger.js';
import { errorResponse, internalError, storeUnavailable, type HttpResponse } from './responses.js';

export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;

/**
 * Maps failures to responses in one place: a store outage is a 503 the caller may retry (never a 404,
 * which would make an MCP client drop a live session); anything else is a bare 500. Neither response
 * carries the error's text - only the logs do, and then only its name. Input the library rejects is
 * the caller's to fix: 400, or 413 when the metadata is too large.
 */
export const withErrorResponses = (logger: Logger, handle: HttpHandler): HttpHandler => async (event) => {
  try {
    return await handle(event);
  } catch (error) {
    if (error instanceof InvalidStartInputError) {
      return errorResponse(error.problem === 'metadata_too_large' ? 413 : 400, error.problem, `${error.message}.`);
    }
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
