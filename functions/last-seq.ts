import { loadStreamsConfig } from '../lib/config.js';
import { createLastSeqHandler } from '../lib/handlers/last-seq.js';
import { streamsFromConfig } from '../lib/in-process.js';
import { createRuntime } from '../lib/runtime.js';

// Built once per container, during Lambda's init phase: config, DynamoDB client, streams, logger.
const runtime = createRuntime(process.env);
const streams = streamsFromConfig(loadStreamsConfig(process.env), { logger: runtime.logger });

export const handler = createLastSeqHandler(streams, runtime.logger, runtime.telemetry);
