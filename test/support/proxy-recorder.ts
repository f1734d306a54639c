/**
 * A ProxyObserver for the round-robin proxy that keeps every exchange with its JSON-RPC content:
 * the messages a request carried and the events (or JSON body) of its answer, as they passed. With
 * it a test states which instance handled what instead of assuming it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Conditions, DEFAULT_WAIT_MS } from './conditions.js';
import type { ForwardedExchange, ProxyObserver } from './round-robin-proxy.js';

/** An SSE event of an answer (or a JSON answer's body, with no id); `message` is its parsed data. */
export interface PassedEvent {
  id: string | undefined;
  message: unknown;
}

export interface RecordedExchange {
  exchange: ForwardedExchange;
  /** The name of the instance it went to. */
  instance: string;
  method: string;
  lastEventId: string | undefined;
  /** The request body as received so far. */
  body: string;
  status: number | undefined;
  /** Message events of the answer, in the order they passed (priming and keep-alives left out). */
  events: PassedEvent[];
  /** The id of every SSE event that passed, priming events included. */
  eventIds: string[];
  closed: boolean;
  /** The whole answer reached the client (false when cut, or when the upstream died mid-answer). */
  complete: boolean;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

const header = (headers: Readonly<Record<string, unknown>>, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

/** What an exchange still needs to parse its answer. */
interface Reading {
  sse: boolean;
  text: string;
}

export class ProxyRecorder implements ProxyObserver {
  readonly exchanges: RecordedExchange[] = [];
  private readonly reading = new Map<number, Reading>();

  /** `names[i]` names the proxy's target i; `conditions` hears of every change. */
  constructor(
    private readonly names: readonly string[],
    readonly conditions = new Conditions(),
  ) {}

  request(exchange: ForwardedExchange): void {
    this.exchanges.push({
      exchange,
      instance: this.names[exchange.target] ?? String(exchange.target),
      method: exchange.method,
      lastEventId: header(exchange.headers, 'last-event-id'),
      body: '',
      status: undefined,
      events: [],
      eventIds: [],
      closed: false,
      complete: false,
    });
    this.conditions.changed();
  }

  requestData(exchange: ForwardedExchange, chunk: Buffer): void {
    this.get(exchange).body += chunk.toString();
    this.conditions.changed();
  }

  response(exchange: ForwardedExchange, status: number, headers: IncomingHttpHeaders): void {
    this.get(exchange).status = status;
    this.reading.set(exchange.n, { sse: (header(headers, 'content-type') ?? '').startsWith('text/event-stream'), text: '' });
    this.conditions.changed();
  }

  responseData(exchange: ForwardedExchange, chunk: Buffer): void {
    const reading = this.reading.get(exchange.n);
    if (reading === undefined) return;
    reading.text += chunk.toString();
    if (reading.sse) this.takeEvents(this.get(exchange), reading);
    this.conditions.changed();
  }

  closed(exchange: ForwardedExchange, complete: boolean): void {
    const recorded = this.get(exchange);
    const reading = this.reading.get(exchange.n);
    if (reading !== undefined && !reading.sse && complete && reading.text !== '') recorded.events.push({ id: undefined, message: parse(reading.text) });
    this.reading.delete(exchange.n);
    recorded.closed = true;
    recorded.complete = complete;
    this.conditions.changed();
  }

  /** The JSON-RPC messages a request carried (a batch flattened); none for a GET or a body not yet in. */
  static messagesOf(recorded: RecordedExchange): unknown[] {
    if (recorded.body === '') return [];
    const body = parse(recorded.body);
    return Array.isArray(body) ? body : [body];
  }

  /** The index of the target the proxy sends the next request to (it takes them in turn). */
  get nextTarget(): number {
    const last = this.exchanges.at(-1);
    return last === undefined ? 0 : (last.exchange.target + 1) % this.names.length;
  }

  /** Waits for an exchange `predicate` accepts (one already recorded counts). */
  exchange(label: string, predicate: (recorded: RecordedExchange) => boolean, ms = DEFAULT_WAIT_MS): Promise<RecordedExchange> {
    return this.conditions.find(label, () => this.exchanges.find(predicate), ms, () => this.summary());
  }

  /** One line per exchange, for a failed wait's message. */
  summary(): string {
    return this.exchanges
      .map((r) => {
        const sent = ProxyRecorder.messagesOf(r).map(describe).join(',');
        return `#${r.exchange.n} ${r.method} -> ${r.instance} ${r.status ?? '...'}${r.lastEventId ? ` last-event-id ${r.lastEventId}` : ''} [${sent}] => [${r.events.map((e) => describe(e.message)).join(',')}]${r.closed ? (r.complete ? ' done' : ' cut') : ''}`;
      })
      .join('\n');
  }

  private get(exchange: ForwardedExchange): RecordedExchange {
    const recorded = this.exchanges.find((r) => r.exchange === exchange);
    if (recorded === undefined) throw new Error(`exchange #${exchange.n} was never announced`);
    return recorded;
  }

  /** Takes each complete SSE event off the text read so far. */
  private takeEvents(recorded: RecordedExchange, reading: Reading): void {
    const blocks = reading.text.split(/\r?\n\r?\n/);
    reading.text = blocks.pop() ?? '';
    for (const block of blocks) {
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('id:')) id = line.slice(3).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      const text = data.join('\n');
      if (id !== undefined) recorded.eventIds.push(id);
      if (text !== '') recorded.events.push({ id, message: parse(text) });
    }
  }
}

/** A short name for a JSON-RPC message: its method, or `result:<id>` / `error:<id>`. */
export function describe(message: unknown): string {
  if (typeof message !== 'object' || message === null) return String(message);
  const m = message as { method?: unknown; id?: unknown; result?: unknown; error?: unknown };
  if (typeof m.method === 'string') return m.method;
  if ('error' in m) return `error:${String(m.id)}`;
  if ('result' in m) return `result:${String(m.id)}`;
  return JSON.stringify(message).slice(0, 60);
}
