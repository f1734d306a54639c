import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { getEventListeners } from 'node:events';
import { beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../lib/errors.js';
import { sessionStreamsFromEnvironment } from '../lib/in-process.js';
import { STREAM_MESSAGE_MAX_BYTES, STREAM_READ_MAX } from '../lib/session-streams.js';
import { scanAll } from '../scripts/local/scan-all.js';
import { createStreamsTestTable, endpoint, lenientClient, localClient, streamsOn, type TestTable } from './support/dynamo.js';
import { ManualClock, hangingEndpoint, injectAwsError, recordInputs } from './support/fakes.js';

let table: TestTable;

beforeAll(async () => {
  table = await createStreamsTestTable('streams');
});

const newSession = (): string => crypto.randomUUID();
const seqs = (messages: { seq: number }[]): number[] => messages.map((m) => m.seq);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('append and readAfter', () => {
  it('numbers messages 1, 2, 3 and reads them back in order, stored as the documented item', async () => {
    const { streams, clock } = streamsOn(table);
    const sessionId = newSession();
    const messages = [{ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'héllo ✓' } }, 'text', 42, null, [1, { a: true }]];
    const numbers: number[] = [];
    for (const message of messages) numbers.push(await streams.append(sessionId, 'req-1', message));
    expect(numbers).toEqual([1, 2, 3, 4, 5]);
    expect(await streams.readAfter(sessionId, 'req-1', 0)).toEqual(messages.map((message, i) => ({ seq: i + 1, message })));
    expect(seqs(await streams.readAfter(sessionId, 'req-1', 3))).toEqual([4, 5]);
    expect(await streams.readAfter(sessionId, 'req-1', 5)).toEqual([]);
    expect(await streams.lastSeq(sessionId, 'req-1')).toBe(5);
    const item = await table.client.send(new GetCommand({ TableName: table.tableName, Key: { sessionId, stream: 'req-1#000000000001' }, ConsistentRead: true }));
    expect(item.Item).toEqual({ sessionId, stream: 'req-1#000000000001', message: JSON.stringify(messages[0]), expiresAt: clock.seconds + 3600 });
  });

  it('keeps streams apart, also ones whose ids share a prefix, and sessions apart', async () => {
    const { streams } = streamsOn(table);
    const [a, b] = [newSession(), newSession()];
    await streams.append(a, 's', 'a/s');
    await streams.append(a, 's1', 'a/s1');
    await streams.append(a, 's-', 'a/s-');
    await streams.append(b, 's', 'b/s');
    await streams.append(a, 's', 'a/s 2');
    expect(await streams.readAfter(a, 's', 0)).toEqual([
      { seq: 1, message: 'a/s' },
      { seq: 2, message: 'a/s 2' },
    ]);
    expect(await streams.readAfter(a, 's1', 0)).toEqual([{ seq: 1, message: 'a/s1' }]);
    expect(await streams.readAfter(b, 's', 0)).toEqual([{ seq: 1, message: 'b/s' }]);
    expect(await streams.lastSeq(a, 'other')).toBe(0);
  });

  it('appends called together from one process get numbers in call order', async () => {
    const { streams } = streamsOn(table);
    const sessionId = newSession();
    const numbers = await Promise.all(range(1, 30).map((i) => streams.append(sessionId, '_GET_stream', { i })));
    expect(numbers).toEqual(range(1, 30));
    const read = await streams.readAfter(sessionId, '_GET_stream', 0);
    expect(read.map((m) => m.message)).toEqual(range(1, 30).map((i) => ({ i })));
  });

  it('two instances appending to one stream at once: numbers 1..n, no gap, no loss, each in its own call order', async () => {
    const [one, two] = [streamsOn(table), streamsOn(table)];
    const sessionId = newSession();
    const n = 40;
    const [fromOne, fromTwo] = await Promise.all([
      Promise.all(range(1, n).map((i) => one.streams.append(sessionId, 'shared', { from: 'one', i }))),
      Promise.all(range(1, n).map((i) => two.streams.append(sessionId, 'shared', { from: 'two', i }))),
    ]);
    expect([...fromOne, ...fromTwo].sort((x, y) => x - y)).toEqual(range(1, 2 * n));
    for (const numbers of [fromOne, fromTwo]) expect([...numbers].sort((x, y) => x - y)).toEqual(numbers);
    const read = [...(await one.streams.readAfter(sessionId, 'shared', 0)), ...(await one.streams.readAfter(sessionId, 'shared', STREAM_READ_MAX))];
    expect(seqs(read)).toEqual(range(1, 2 * n));
    // Each stored message is the one whose append returned that number.
    const bySeq = new Map(read.map((m) => [m.seq, m.message]));
    fromOne.forEach((seq, i) => expect(bySeq.get(seq)).toEqual({ from: 'one', i: i + 1 }));
    fromTwo.forEach((seq, i) => expect(bySeq.get(seq)).toEqual({ from: 'two', i: i + 1 }));
  });

  it('a stream another instance wrote continues after its newest message', async () => {
    const [one, two] = [streamsOn(table), streamsOn(table)];
    const sessionId = newSession();
    for (let i = 0; i < 3; i++) await one.streams.append(sessionId, 'relay:1', i);
    two.requests.reset();
    expect(await two.streams.append(sessionId, 'relay:1', 'answer')).toBe(4);
    // Its optimistic put at 1 lost, it read the newest, and the put after it won.
    expect(two.requests.byCommand).toEqual({ PutItemCommand: 2, QueryCommand: 1 });
    two.requests.reset();
    expect(await two.streams.append(sessionId, 'relay:1', 'more')).toBe(5);
    expect(two.requests.byCommand).toEqual({ PutItemCommand: 1 });
  });
});

describe('request counts', () => {
  it('a fresh stream and a warm single-writer stream: 1 PutItem per append; readAfter and lastSeq: 1 consistent Query each', async () => {
    const { streams, requests, raw } = streamsOn(table);
    const sessionId = newSession();
    const queries = recordInputs(raw, 'QueryCommand');
    const puts = recordInputs(raw, 'PutItemCommand');
    await streams.append(sessionId, 'req', 'first');
    expect(requests.byCommand).toEqual({ PutItemCommand: 1 });
    requests.reset();
    for (let i = 0; i < 10; i++) await streams.append(sessionId, 'req', i);
    expect(requests.byCommand).toEqual({ PutItemCommand: 10 });
    expect(puts.every((input) => input.ConditionExpression === 'attribute_not_exists(#stream)')).toBe(true);
    requests.reset();
    expect(seqs(await streams.readAfter(sessionId, 'req', 4))).toEqual(range(5, 11));
    expect(requests.byCommand).toEqual({ QueryCommand: 1 });
    requests.reset();
    expect(await streams.lastSeq(sessionId, 'req')).toBe(11);
    expect(requests.byCommand).toEqual({ QueryCommand: 1 });
    expect(queries).toHaveLength(2);
    expect(queries.every((input) => input.ConsistentRead === true)).toBe(true);
    expect(queries[1]).toMatchObject({ ScanIndexForward: false, Limit: 1 });
  });

  it('the sequence cache is bounded: a stream pushed out of it costs a lost put and a Query on its next append', async () => {
    const { streams, requests } = streamsOn(table, { seqCacheSize: 2 });
    const sessionId = newSession();
    await streams.append(sessionId, 's1', 1);
    await streams.append(sessionId, 's2', 1);
    await streams.append(sessionId, 's1', 2); // s1 is now the most recently used
    await streams.append(sessionId, 's3', 1); // pushes out s2
    requests.reset();
    expect(await streams.append(sessionId, 's1', 3)).toBe(3);
    expect(requests.byCommand).toEqual({ PutItemCommand: 1 });
    requests.reset();
    expect(await streams.append(sessionId, 's2', 2)).toBe(2);
    expect(requests.byCommand).toEqual({ PutItemCommand: 2, QueryCommand: 1 });
  });

  it('gives up with StoreUnavailableError after the bounded number of lost races', async () => {
    const { streams, requests, raw } = streamsOn(table, { appendAttempts: 3, raw: lenientClient({ maxAttempts: 1 }) });
    injectAwsError(raw, 'PutItemCommand', () => new ConditionalCheckFailedException({ message: 'injected', $metadata: {} }));
    await expect(streams.append(newSession(), 'contended', 'x')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(requests.byCommand).toEqual({ PutItemCommand: 3, QueryCommand: 2 });
  });
});

describe('readAfter pages', () => {
  it(`reads at most ${STREAM_READ_MAX} (or the limit) per call, oldest first, one Query each`, async () => {
    const { streams, requests } = streamsOn(table);
    const sessionId = newSession();
    await Promise.all(range(1, 230).map((i) => streams.append(sessionId, 'long', i)));
    requests.reset();
    const pages: number[][] = [];
    for (let after = 0; ; ) {
      const page = await streams.readAfter(sessionId, 'long', after);
      if (page.length === 0) break;
      pages.push(seqs(page));
      after = page.at(-1)?.seq ?? after;
    }
    expect(pages).toEqual([range(1, 100), range(101, 200), range(201, 230)]);
    expect(requests.byCommand).toEqual({ QueryCommand: 4 });
    expect(seqs(await streams.readAfter(sessionId, 'long', 10, { limit: 7 }))).toEqual(range(11, 17));
    expect(await streams.readAfter(sessionId, 'long', 0, { limit: 1000 })).toHaveLength(STREAM_READ_MAX);
  });

  it('expired messages (TTL not run yet) are not returned, and do not hide newer ones behind an empty page', async () => {
    const clock = new ManualClock();
    const { streams } = streamsOn(table, { clock, retentionSeconds: 60 });
    const sessionId = newSession();
    for (let i = 1; i <= 5; i++) await streams.append(sessionId, 'old', i);
    clock.advance(30);
    await streams.append(sessionId, 'old', 6);
    await streams.append(sessionId, 'old', 7);
    clock.advance(30); // 1-5 expire now (expiresAt <= now)
    expect(await streams.readAfter(sessionId, 'old', 0)).toEqual([
      { seq: 6, message: 6 },
      { seq: 7, message: 7 },
    ]);
    expect(seqs(await streams.readAfter(sessionId, 'old', 0, { limit: 2 }))).toEqual([6, 7]);
    // Numbering goes on after the expired messages: a reader's last id stays meaningful.
    expect(await streams.lastSeq(sessionId, 'old')).toBe(7);
    expect(await streamsOn(table, { clock, retentionSeconds: 60 }).streams.append(sessionId, 'old', 8)).toBe(8);
    clock.advance(60);
    expect(await streams.readAfter(sessionId, 'old', 0)).toEqual([]);
  });
});

describe('removeStream', () => {
  it('removes every message of the stream (more than one batch) and nothing else', async () => {
    const { streams } = streamsOn(table);
    const sessionId = newSession();
    await Promise.all(range(1, 60).map((i) => streams.append(sessionId, 'relay:abc', i)));
    await streams.append(sessionId, 'relay:abcd', 'keep');
    await streams.append(sessionId, 'relay:ab', 'keep');
    await streams.removeStream(sessionId, 'relay:abc');
    expect(await streams.readAfter(sessionId, 'relay:abc', 0)).toEqual([]);
    expect(await streams.lastSeq(sessionId, 'relay:abc')).toBe(0);
    expect(await streams.readAfter(sessionId, 'relay:abcd', 0)).toEqual([{ seq: 1, message: 'keep' }]);
    expect(await streams.readAfter(sessionId, 'relay:ab', 0)).toEqual([{ seq: 1, message: 'keep' }]);
    const { items } = await scanAll(table.client, { TableName: table.tableName, ConsistentRead: true });
    expect(items.filter((item) => item.sessionId === sessionId)).toHaveLength(2);
    // A stream removed and written again starts over, from this instance too.
    expect(await streams.append(sessionId, 'relay:abc', 'again')).toBe(1);
  });

  it('applies in call order with appends from the same process', async () => {
    const { streams } = streamsOn(table);
    const sessionId = newSession();
    const [first, , after] = await Promise.all([streams.append(sessionId, 'r', 'a'), streams.removeStream(sessionId, 'r'), streams.append(sessionId, 'r', 'b')]);
    expect(first).toBe(1);
    expect(after).toBe(1);
    expect(await streams.readAfter(sessionId, 'r', 0)).toEqual([{ seq: 1, message: 'b' }]);
  });

  it('an empty or unknown stream: one Query, no writes', async () => {
    const { streams, requests } = streamsOn(table);
    await streams.removeStream(newSession(), 'nothing');
    expect(requests.byCommand).toEqual({ QueryCommand: 1 });
  });
});

describe('input', () => {
  const id = newSession();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;

  it.each([
    ['append', 'a malformed session id', 'invalid_session_id', ['not-a-session', 's', 'm']],
    ['append', 'an empty stream id', 'invalid_stream_id', [id, '', 'm']],
    ['append', 'a stream id with #', 'invalid_stream_id', [id, 'a#b', 'm']],
    ['append', 'a stream id with a space', 'invalid_stream_id', [id, 'a b', 'm']],
    ['append', 'a stream id of 129 characters', 'invalid_stream_id', [id, 'x'.repeat(129), 'm']],
    ['append', 'undefined', 'invalid_message', [id, 's', undefined]],
    ['append', 'a cyclic object', 'invalid_message', [id, 's', cyclic]],
    ['append', 'a message 2 bytes over the maximum', 'message_too_large', [id, 's', 'x'.repeat(STREAM_MESSAGE_MAX_BYTES)]], // + 2 quotes
    ['readAfter', 'a negative seq', 'invalid_seq', [id, 's', -1]],
    ['readAfter', 'a fractional seq', 'invalid_seq', [id, 's', 1.5]],
    ['readAfter', 'limit 0', 'invalid_limit', [id, 's', 0, { limit: 0 }]],
    ['readAfter', 'an upper-case session id', 'invalid_session_id', [id.toUpperCase(), 's', 0]],
    ['lastSeq', 'a stream id with #', 'invalid_stream_id', [id, 'a#1']],
    ['removeStream', 'a stream id with #', 'invalid_stream_id', [id, 'a#1']],
  ] as const)('%s with %s throws InvalidStreamInputError %s before any request', async (operation, _label, problem, args) => {
    const { streams, requests } = streamsOn(table);
    const call = (streams[operation] as (...a: readonly unknown[]) => Promise<unknown>).bind(streams);
    await expect(call(...args)).rejects.toMatchObject({ name: 'InvalidStreamInputError', problem });
    expect(requests.total).toBe(0);
  });

  it('accepts a message of exactly the maximum size', async () => {
    const { streams } = streamsOn(table);
    const message = 'x'.repeat(STREAM_MESSAGE_MAX_BYTES - 2);
    const sessionId = newSession();
    expect(await streams.append(sessionId, 's', message)).toBe(1);
    expect(await streams.readAfter(sessionId, 's', 0)).toEqual([{ seq: 1, message }]);
  });

  it('a hand-written unreadable message reads as null, and the stream stays readable past it', async () => {
    const { streams, logger } = streamsOn(table);
    const sessionId = newSession();
    await table.client.send(new PutCommand({ TableName: table.tableName, Item: { sessionId, stream: 's#000000000001', message: '{not json', expiresAt: 2 ** 31 } }));
    await streams.append(sessionId, 's', 'ok');
    expect(await streams.readAfter(sessionId, 's', 0)).toEqual([
      { seq: 1, message: null },
      { seq: 2, message: 'ok' },
    ]);
    expect(logger.lines.some((line) => line.level === 'error' && !JSON.stringify(line).includes(sessionId))).toBe(true);
  });
});

describe('deadlines', () => {
  it('a hung DynamoDB: every operation throws StoreUnavailableError by its deadline, queued appends too', async () => {
    const hanging = await hangingEndpoint();
    try {
      const { streams } = streamsOn(table, { raw: localClient({ endpoint: hanging.url }) });
      const sessionId = newSession();
      const calls = [
        streams.append(sessionId, 's', 1),
        streams.append(sessionId, 's', 2), // queued behind the first
        streams.readAfter(sessionId, 's', 0),
        streams.lastSeq(sessionId, 's'),
        streams.removeStream(sessionId, 's'),
      ];
      const results = await Promise.allSettled(calls);
      expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'fulfilled'))).toEqual(Array(5).fill('StoreUnavailableError'));
      expect(hanging.connections()).toBeGreaterThan(0);
    } finally {
      await hanging.close();
    }
  });

  it("calls under one long-lived signal leave no listener on it once answered (pollers reuse one signal)", async () => {
    const { streams } = streamsOn(table);
    const sessionId = newSession();
    const connection = new AbortController();
    for (let i = 0; i < 20; i++) {
      await streams.append(sessionId, 'poll', i, { signal: connection.signal });
      await streams.readAfter(sessionId, 'poll', i, { signal: connection.signal });
      await streams.lastSeq(sessionId, 'poll', { signal: connection.signal });
    }
    await streams.removeStream(sessionId, 'poll', { signal: connection.signal });
    expect(getEventListeners(connection.signal, 'abort')).toHaveLength(0);
  });

  it("the caller's signal ends a call early", async () => {
    const hanging = await hangingEndpoint();
    try {
      const { streams } = streamsOn(table, { raw: localClient({ endpoint: hanging.url }), deadlineMs: 60_000 });
      const controller = new AbortController();
      const pending = streams.append(newSession(), 's', 1, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expect(pending).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await hanging.close();
    }
  });
});

describe('sessionStreamsFromEnvironment', () => {
  it('builds the streams from the in-process variables', async () => {
    const streams = sessionStreamsFromEnvironment({ MCP_SESSIONS_STREAMS_TABLE_NAME: table.tableName, MCP_SESSIONS_DYNAMODB_ENDPOINT: endpoint(), MCP_SESSIONS_STREAM_RETENTION_SECONDS: '120' });
    expect(streams.retentionSeconds).toBe(120);
    const sessionId = newSession();
    expect(await streams.append(sessionId, 'env', { ok: true })).toBe(1);
    expect(await streams.readAfter(sessionId, 'env', 0)).toEqual([{ seq: 1, message: { ok: true } }]);
  });
});
