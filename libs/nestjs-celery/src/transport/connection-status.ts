/** Connection states reported by brokers and result backends through `status$`. */
export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'closed';
