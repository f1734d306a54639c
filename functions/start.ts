import { createStartHandler } from '../lib/handlers/start.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, store, logger.
const runtime = createRuntime(process.env);

export const handler = createStartHandler(runtime.store, runtime.logger, runtime.telemetry);
