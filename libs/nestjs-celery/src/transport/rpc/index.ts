/** The RPC result backend's entry point: results as reply messages on the app's broker. */
export { RpcBackend } from './rpc.backend.js';
