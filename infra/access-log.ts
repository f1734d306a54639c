/** Access log line: the route key, never the raw path, so no session id is ever logged. */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  // Why API Gateway could not get an answer from the function (timeout, throttle, bad response).
  integrationError: '$context.integrationErrorMessage',
  sourceIp: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  error: '$context.error.message',
  authorizerError: '$context.authorizer.error',
};
