/** Why a request state token was refused; a machine value for logs, metrics and tests. */
export type RequestStateProblem = 'malformed' | 'unknown_key' | 'bad_signature' | 'expired' | 'wrong_caller';

/**
 * A refused token. The message is fixed per problem: it never carries the state, the caller or
 * any part of the token, because the token is attacker-controlled and the state is the server's.
 */
export class RequestStateError extends Error {
  override readonly name = 'RequestStateError';

  constructor(readonly problem: RequestStateProblem) {
    super(`request state refused: ${problem}`);
  }
}
