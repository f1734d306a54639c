import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Logger } from '../../lib/logger.js';
import type { MetricName, Telemetry } from '../../lib/telemetry.js';

export { ManualClock } from '../../scripts/local/manual-clock.js';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

/** Keeps what was logged, so tests can assert on it. */
export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  info(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, attributes });
  }
  warn(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, attributes });
  }
  error(message: string, attributes: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, attributes });
  }
}

/**
 * Fault injection: makes the client fail the named command with the given AWS error, on every
 * attempt (the hook sits inside the SDK's retry loop, so retryable errors are retried first).
 */
export function injectAwsError(client: DynamoDBClient, commandName: string, makeError: () => Error): { attempts: () => number } {
  let attempts = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== commandName) return next(args);
      attempts++;
      throw makeError();
    },
    { step: 'deserialize', name: `inject-${commandName}`, override: true },
  );
  return { attempts: () => attempts };
}

/**
 * Runs `between` after the named command succeeds and before its result reaches the caller: a way
 * to land a real concurrent write in the window between a read and the write that follows it.
 */
export function afterCommand(client: DynamoDBClient, commandName: string, between: () => Promise<void>): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === commandName) await between();
      return result;
    },
    { step: 'initialize', name: `after-${commandName}`, override: true },
  );
}

/** A port nothing listens on: a client pointed here fails like an unreachable DynamoDB. */
export const DEAD_ENDPOINT = 'http://127.0.0.1:9';

/** Keeps the metrics counted, so tests can assert on them. */
export class CountingTelemetry implements Telemetry {
  readonly counts: Partial<Record<MetricName, number>> = {};
  flushes = 0;
  count(name: MetricName, value = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + value;
  }
  flush(): void {
    this.flushes++;
  }
}

/** A TCP endpoint standing in for a broken peer (DynamoDB or our API); see hangingEndpoint and halfAnsweringEndpoint. */
export interface FaultyEndpoint {
  url: string;
  /** Connections it has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

async function faultyEndpoint(onConnection: (socket: Socket) => void): Promise<FaultyEndpoint> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createNetServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Accepts every connection, reads the request and never answers: a hung peer. */
export const hangingEndpoint = (): Promise<FaultyEndpoint> => faultyEndpoint((socket) => socket.resume());

/**
 * Answers every request with a status line, headers promising a 200-byte JSON body, and half of
 * it; then stalls with the connection open: a peer that dies mid-answer.
 */
export const halfAnsweringEndpoint = (): Promise<FaultyEndpoint> =>
  faultyEndpoint((socket) => {
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 200\r\n\r\n{"Item":{"sessionId":{"S":"');
    });
    socket.resume();
  });

/** Records the input of every `commandName` request the client sends, as sent (after any middleware before it). */
export function recordInputs(client: DynamoDBClient, commandName: string): Record<string, unknown>[] {
  const inputs: Record<string, unknown>[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) inputs.push({ ...(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: 'serialize', name: `record-${commandName}`, override: true },
  );
  return inputs;
}
