import { createCheckHandler } from '../lib/handlers/check.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, store, logger.
const runtime = createRuntime(process.env);

export const handler = createCheckHandler(runtime.store, runtime.logger, runtime.telemetry);
