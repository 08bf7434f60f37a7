/**
 * Ctrl-C for a long-running tool: the first SIGINT asks it to stop after the chunk it
 * is on (so it still prints what it did), a second one quits at once. Both exit 130,
 * the shell's code for "ended by SIGINT".
 */
export function stopOnSigint(notice = 'stopping after the current chunk (Ctrl-C again to quit now)'): {
  signal: AbortSignal;
  dispose(): void;
} {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    console.error(notice);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

export const INTERRUPTED_EXIT_CODE = 130;
