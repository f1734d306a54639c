import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface RequestCounts {
  /** Operations sent, by command name (GetItemCommand, ...); an operation's SDK retries count once. */
  readonly byCommand: Readonly<Record<string, number>>;
  readonly total: number;
  /** Items read by Scan operations (ScannedCount), i.e. what DynamoDB bills a scan on. */
  readonly itemsScanned: number;
  /** Capacity units DynamoDB reported (with askForCapacity, every request asks for them). */
  readonly capacityUnits: number;
  reset(): void;
}

interface CountedOutput {
  ScannedCount?: number;
  ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
}

/**
 * Counts the DynamoDB operations a client sends, with SDK middleware: the way tests and the
 * benchmark check request budgets without timing anything. Works for document clients too, which
 * share their client's middleware stack.
 */
export function countRequests(client: DynamoDBClient, options: { askForCapacity?: boolean } = {}): RequestCounts {
  const byCommand: Record<string, number> = {};
  let itemsScanned = 0;
  let capacityUnits = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      byCommand[command] = (byCommand[command] ?? 0) + 1;
      // Measurement only: ask DynamoDB to report what each request consumed.
      if (options.askForCapacity) (args.input as { ReturnConsumedCapacity?: string }).ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      const output = result.output as CountedOutput;
      itemsScanned += output.ScannedCount ?? 0;
      const consumed = output.ConsumedCapacity;
      for (const entry of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) capacityUnits += entry.CapacityUnits ?? 0;
      return result;
    },
    { step: 'initialize', name: 'mcpSessionsRequestCounter', override: true },
  );
  return {
    byCommand,
    get total() {
      return Object.values(byCommand).reduce((sum, n) => sum + n, 0);
    },
    get itemsScanned() {
      return itemsScanned;
    },
    get capacityUnits() {
      return capacityUnits;
    },
    reset() {
      for (const key of Object.keys(byCommand)) delete byCommand[key];
      itemsScanned = 0;
      capacityUnits = 0;
    },
  };
}
