import { Presets, SingleBar } from 'cli-progress';

export interface ProgressBar {
  update(done: number, total: number, phase?: string): void;
  stop(): void;
}

/**
 * One bar per entity on stderr, so that stdout carries only the summary lines (and
 * can be piped). cli-progress draws nothing when stderr is not a terminal.
 */
export function progressBar(label: string): ProgressBar {
  const bar = new SingleBar(
    {
      format: `${label.padEnd(8)} [{bar}] {percentage}% {value}/{total} {phase}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, phase = '') {
      if (!started) {
        bar.start(total, done, { phase });
        started = true;
        return;
      }
      bar.setTotal(total);
      bar.update(done, { phase });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
