/** The cluster client has no slot map to send a command by: it is connecting, reconnecting or closed. */
export class ClusterNotReadyError extends Error {
  constructor(readonly status: string) {
    super(`Redis Cluster is not ready (${status}); not waiting for it`);
    this.name = 'ClusterNotReadyError';
  }
}
