import { createUpdateStateHandler } from '../lib/handlers/update-state.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, store, logger.
const runtime = createRuntime(process.env);

export const handler = createUpdateStateHandler(runtime.store, runtime.logger, runtime.telemetry);
