import { createDestroyHandler } from '../lib/handlers/destroy.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, store, logger.
const runtime = createRuntime(process.env);

export const handler = createDestroyHandler(runtime.store, runtime.logger, runtime.telemetry);
