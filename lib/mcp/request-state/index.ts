export { RequestStateCodec, type JsonValue, type OpenOptions, type OpenedRequestState, type RequestStateCodecOptions, type SealOptions } from './codec.js';
export { RequestStateError, type RequestStateProblem } from './errors.js';
export { MIN_SECRET_BYTES, staticKeyProvider, type RequestStateKey, type RequestStateKeyProvider, type StaticKeys } from './keys.js';
export { fileKeyProvider, generateKeyFile, readKeyFile, writeKeyFile, type FileKeyProviderOptions, type RequestStateKeySet } from './file-key-provider.js';
export { requestStateSeam, type RequestStateSeam } from './sdk-seam.js';
