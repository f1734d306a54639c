import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { createDynamoClient, documentClient } from '../lib/dynamodb-client.js';
import { ensureSessionTable } from '../scripts/local/ensure-table.js';

export interface BenchTable {
  tableName: string;
  raw: DynamoDBClient;
  client: DynamoDBDocumentClient;
}

export interface BenchContext {
  endpoint: string;
  /** The DynamoDB Local process when the bench started it (for CPU accounting). */
  dynamoPid: number | undefined;
  quick: boolean;
  /** A fresh table with the service's schema; TTL off so expired items stay put while measured. */
  newTable(prefix: string): Promise<BenchTable>;
  /** A new client to the same table (own middleware stack, own connection pool). */
  clientFor(tableName: string): BenchTable;
}

export function benchContext(endpoint: string, quick: boolean, dynamoPid?: number): BenchContext {
  const clientFor = (tableName: string): BenchTable => {
    const raw = createDynamoClient({ endpoint });
    return { tableName, raw, client: documentClient(raw) };
  };
  return {
    endpoint,
    dynamoPid,
    quick,
    clientFor,
    async newTable(prefix) {
      const raw = createDynamoClient({ endpoint });
      const tableName = `bench-${prefix}-${randomUUID().slice(0, 8)}`;
      await ensureSessionTable(raw, tableName, { ttl: false });
      return { tableName, raw, client: documentClient(raw) };
    },
  };
}

export const progress = (message: string): void => {
  process.stderr.write(`  … ${message}\n`);
};

/** The q-th percentile (0-100) by nearest rank. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export const median = (values: number[]): number => percentile(values, 50);

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

/** Prints one scenario's table, columns padded to fit. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(`\n${title}\n`);
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `-${'-'.repeat(w)}:`)).join('|')}|`);
  for (const row of cells.slice(1)) console.log(line(row));
}

export const liveItem = (now: number) => ({ sessionId: randomUUID(), createdAt: now, expiresAt: now + 3600 });
export const expiredItem = (now: number) => ({ sessionId: randomUUID(), createdAt: now - 7200, expiresAt: now - 3600 });
