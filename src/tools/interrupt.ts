/**
 * A second SIGINT within this long of the first is the same Ctrl-C heard twice: a
 * terminal signals its whole foreground process group, and a parent that passes the
 * signal on (npm's run-script, tsx) delivers it again. Quitting on that echo would
 * lose the summary the first one asked for.
 */
const ECHO_MS = 1_000;

/**
 * Ctrl-C for a long-running tool: the first SIGINT asks it to stop after the chunk it
 * is on (so it still prints what it did), a second one, pressed after the first,
 * quits at once. Both exit 130, the shell's code for "ended by SIGINT".
 */
export function stopOnSigint(notice = 'stopping after the current chunk (Ctrl-C again to quit now)'): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  let firstAt = 0;
  const onSigint = () => {
    if (!controller.signal.aborted) {
      firstAt = performance.now();
      console.error(notice);
      controller.abort();
    } else if (performance.now() - firstAt > ECHO_MS) {
      process.exit(INTERRUPTED_EXIT_CODE);
    }
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

export const INTERRUPTED_EXIT_CODE = 130;
