import type { ServiceName } from './types';

/** A server is not available and we cannot (or must not) start it; `instructions` say what to do. */
export class ServicesUnavailableError extends Error {
  constructor(
    /** What is wrong, naming the setting and what was tried. */
    readonly problem: string,
    /** Exactly what to install, run or configure to fix it. */
    readonly instructions: string,
    /** The services that are not installed here (empty when the problem is something else). */
    readonly notInstalled: ServiceName[] = [],
    /** Default: one line when the fix is one sentence (a mistake in a URL); install instructions keep their own lines. */
    message = instructions.includes('\n') ? `${problem}\n${instructions}` : `${problem}: ${instructions}`,
  ) {
    super(message);
    this.name = 'ServicesUnavailableError';
  }
}

/** A failed command's message alone often hides the cause, which it printed on stderr. */
export function errorText(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  const base = err instanceof Error ? err.message : String(err);
  const extra = typeof stderr === 'string' ? stderr.trim() : '';
  return extra && !base.includes(extra) ? `${base}\n${extra}` : base;
}
