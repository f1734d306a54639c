import { loadStreamsConfig } from '../lib/config.js';
import { createRemoveStreamHandler } from '../lib/handlers/remove-stream.js';
import { streamsFromConfig } from '../lib/in-process.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, streams, logger.
const runtime = createRuntime(process.env);
const streams = streamsFromConfig(loadStreamsConfig(process.env), { logger: runtime.logger });

export const handler = createRemoveStreamHandler(streams, runtime.logger, runtime.telemetry);
