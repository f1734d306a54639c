import type { JsonValue, RequestStateCodec } from './codec.js';

/**
 * The shape of the official SDK v2's request state seam (`@modelcontextprotocol/server`,
 * `RequestStateCodec<T>`, SEP-2322): `mint` seals what a handler returns from
 * `inputRequired({ requestState })`; `verify` goes into `ServerOptions.requestState.verify` and is
 * what a handler calls to read the state back. It throws on any failure; the SDK answers -32602.
 * Declared here rather than imported so this package does not depend on the SDK.
 */
export interface RequestStateSeam<Ctx> {
  mint(payload: JsonValue, ctx?: Ctx): Promise<string>;
  verify(state: string, ctx: Ctx): Promise<JsonValue>;
}

/**
 * Adapts our codec to the SDK's seam. `callerOf` names the authenticated principal of a request,
 * e.g. `ctx => ctx.http?.authInfo?.clientId ?? ''` — binding is not optional here, so `mint`
 * needs the context. Errors thrown by `verify` are RequestStateError (message `request state
 * refused: <problem>`, nothing from the token or state).
 */
export function requestStateSeam<Ctx>(codec: RequestStateCodec, callerOf: (ctx: Ctx) => string, ttlSeconds?: number): RequestStateSeam<Ctx> {
  return {
    async mint(payload, ctx) {
      if (ctx === undefined) throw new TypeError('requestStateSeam: mint() needs the request context to bind the state to its caller');
      return codec.seal(payload, ttlSeconds === undefined ? { caller: callerOf(ctx) } : { caller: callerOf(ctx), ttlSeconds });
    },
    async verify(state, ctx) {
      return (await codec.open(state, { caller: callerOf(ctx) })).state;
    },
  };
}
