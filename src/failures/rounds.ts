/**
 * Background work done in rounds on an interval: the repair worker's and the sweep of
 * abandoned write intents. Rounds never overlap (a round asked for while one runs gets
 * that one), a failed round is reported and the next one tries again, and `stop` waits
 * for the round under way, so that the caller can then close the connections it uses.
 */
export class Rounds<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;

  constructor(
    private readonly round: () => Promise<T>,
    private readonly options: { intervalMs: number; onError: (err: unknown) => void },
  ) {}

  /** Starts the interval (its timer does not keep the process alive); `now`: a first round at once, too. */
  start(now = false): void {
    if (now) this.runSoon(false);
    this.timer = setInterval(() => this.runSoon(false), this.options.intervalMs);
    this.timer.unref();
  }

  /** Stops the interval and waits for a round under way. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One round, or the one under way. */
  runOnce(): Promise<T> {
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  /**
   * A round without waiting for it; `afterThis`: after the round under way has finished
   * (from inside a round, `runOnce` would return that same round), and only if started.
   */
  runSoon(afterThis = true): void {
    const run = () => void this.runOnce().catch(this.options.onError);
    if (!afterThis) return run();
    if (this.timer) setImmediate(run);
  }
}
