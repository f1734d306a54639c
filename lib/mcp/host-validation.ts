/**
 * DNS-rebinding protection: a web page on evil.example whose name is re-pointed at 127.0.0.1 can
 * make the browser talk to a local MCP server, but the browser still sends `Host: evil.example`
 * (and `Origin: http://evil.example`). Checking both against an allow-list stops it.
 */
import { jsonRpcError } from './json-rpc.js';

/** Loopback names, on any port: what a local server answers to. */
export const DEFAULT_ALLOWED_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

export interface HostValidationOptions {
  /**
   * Hosts the `Host` header may name: `host` (any port) or `host:port`, IPv6 in brackets
   * (`[::1]:3001`), case-insensitive, a trailing dot ignored. Default `DEFAULT_ALLOWED_HOSTS`.
   * `'any'` turns the check off, for deployments whose load balancer already validates Host.
   */
  allowedHosts?: readonly string[] | 'any';
  /**
   * Origins a present `Origin` header may name, exactly (`https://app.example.com`, a port when it
   * is not the scheme's default). Default: any http(s) origin whose host passes `allowedHosts`.
   * `'any'` turns the Origin check off. An `Origin: null` or a non-http(s) origin is refused unless 'any'.
   */
  allowedOrigins?: readonly string[] | 'any';
}

export interface HostRefusal {
  header: 'host' | 'origin';
  /** The JSON-RPC error message, in the SDK's words. */
  message: string;
  /** The host as parsed, for the operator's log; absent when it did not parse. */
  host?: string;
}

interface Authority {
  /** Lowercase, without a trailing dot; IPv6 in brackets, as the URL parser writes it. */
  name: string;
  port: number;
}
interface AllowedHost {
  name: string;
  /** Undefined: any port. */
  port?: number;
}
interface AllowedOrigin extends Authority {
  scheme: 'http' | 'https';
}

// Only what a Host header can legitimately hold: no userinfo, path, percent-escapes or spaces, so
// the URL parser below cannot be steered to a different host than the one written.
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?$/i;
const ORIGIN = /^(https?):\/\/([^/?#]*)$/i;
const DEFAULT_PORT = { http: 80, https: 443 } as const;

/** `name[:port]`, its name normalized by the URL parser (IPv6 compression, IPv4 forms, case). */
function parseAuthority(text: string): { name: string; port?: number } | undefined {
  const match = AUTHORITY.exec(text);
  if (match === null) return undefined;
  const [, rawName = '', rawPort] = match;
  let name: string;
  try {
    name = new URL(`http://${rawName}`).hostname;
  } catch {
    return undefined;
  }
  if (name.endsWith('.')) name = name.slice(0, -1); // `localhost.` is the same name, fully qualified
  if (name === '' || name.endsWith('.')) return undefined;
  if (rawPort === undefined) return { name };
  const port = Number(rawPort);
  return port <= 65_535 ? { name, port } : undefined;
}

function parseOrigin(text: string): AllowedOrigin | undefined {
  const match = ORIGIN.exec(text);
  if (match === null) return undefined;
  const scheme = (match[1] ?? '').toLowerCase() === 'https' ? 'https' : 'http';
  const authority = parseAuthority(match[2] ?? '');
  return authority && { scheme, name: authority.name, port: authority.port ?? DEFAULT_PORT[scheme] };
}

function allowedHostsFrom(entries: readonly string[]): AllowedHost[] {
  if (entries.length === 0) throw new RangeError("sessionGate: allowedHosts must list at least one host, or be 'any'");
  return entries.map((entry) => {
    const parsed = parseAuthority(entry.trim());
    if (parsed === undefined) throw new RangeError(`sessionGate: allowedHosts entry ${JSON.stringify(entry)} is not a host or host:port (IPv6 in brackets: [::1])`);
    return parsed;
  });
}

function allowedOriginsFrom(entries: readonly string[]): AllowedOrigin[] {
  if (entries.length === 0) throw new RangeError("sessionGate: allowedOrigins must list at least one origin, or be 'any'");
  return entries.map((entry) => {
    const parsed = parseOrigin(entry.trim());
    if (parsed === undefined) throw new RangeError(`sessionGate: allowedOrigins entry ${JSON.stringify(entry)} is not an origin such as https://app.example.com`);
    return parsed;
  });
}

const hostAllowed = (allowed: readonly AllowedHost[], authority: Authority) =>
  allowed.some((entry) => entry.name === authority.name && (entry.port === undefined || entry.port === authority.port));

/**
 * The authority a request names: its Host header, or, when it has none (HTTP/2's :authority, an
 * absolute-form HTTP/1.0 request, a Request built in code), its URL's. A port left out is the
 * scheme's default.
 */
function requestAuthority(request: Request): Authority | 'missing' | 'invalid' {
  const url = new URL(request.url);
  const text = request.headers.get('host') ?? url.host;
  if (text === '') return 'missing';
  const parsed = parseAuthority(text);
  if (parsed === undefined) return 'invalid';
  return { name: parsed.name, port: parsed.port ?? (url.protocol === 'https:' ? DEFAULT_PORT.https : DEFAULT_PORT.http) };
}

/** Listed origins match exactly; without a list, an origin's host must be an allowed host. */
function originRule(allowedOrigins: HostValidationOptions['allowedOrigins'], hosts: readonly AllowedHost[] | 'any'): (origin: AllowedOrigin) => boolean {
  if (allowedOrigins === 'any') return () => true;
  if (allowedOrigins !== undefined) {
    const listed = allowedOriginsFrom(allowedOrigins);
    return (origin) => listed.some((entry) => entry.scheme === origin.scheme && entry.name === origin.name && entry.port === origin.port);
  }
  return (origin) => hosts === 'any' || hostAllowed(hosts, origin);
}

/**
 * Returns a check for each request: undefined when its Host and Origin are allowed, else why not.
 * Entries are validated here, once, so a typo fails at startup rather than as 403s.
 */
export function hostValidator(options: HostValidationOptions = {}): (request: Request) => HostRefusal | undefined {
  const hosts = options.allowedHosts === 'any' ? 'any' : allowedHostsFrom(options.allowedHosts ?? DEFAULT_ALLOWED_HOSTS);
  const originAllowed = originRule(options.allowedOrigins, hosts);
  // The value is the sender's to choose, so it goes to the log (parsed) but is never echoed back.
  const refuse = (header: HostRefusal['header'], message: string, host?: string): HostRefusal => ({ header, message, ...(host === undefined ? {} : { host }) });

  const checkOrigin = (origin: string): HostRefusal | undefined => {
    const parsed = parseOrigin(origin); // `null` and non-http(s) schemes do not parse: refused
    if (parsed === undefined) return refuse('origin', 'Invalid Origin header');
    return originAllowed(parsed) ? undefined : refuse('origin', 'Invalid Origin header', `${parsed.scheme}://${parsed.name}:${parsed.port}`);
  };

  return (request) => {
    if (hosts !== 'any') {
      const authority = requestAuthority(request);
      if (authority === 'missing') return refuse('host', 'Missing Host header');
      if (authority === 'invalid') return refuse('host', 'Invalid Host header');
      if (!hostAllowed(hosts, authority)) return refuse('host', 'Invalid Host header', `${authority.name}:${authority.port}`);
    }
    const origin = request.headers.get('origin');
    return origin === null || options.allowedOrigins === 'any' ? undefined : checkOrigin(origin);
  };
}

/** The SDK's answer to a refused Host or Origin: 403, JSON-RPC -32000. */
export const hostRefusedResponse = (refusal: HostRefusal): Response => jsonRpcError(403, -32000, refusal.message);
