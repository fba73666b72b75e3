/** The RPC result backend's entry point: results as reply messages on the app's broker. */
export { RpcBackend, type RpcBackendOptions } from './rpc.backend.js';
