/**
 * A failure an operator can act on, worded as the one line a tool prints: the
 * command-line tools print `message` alone, without a stack trace.
 */
export class ToolError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ToolError';
  }
}

/** One line for any failure: ours as they are, the usual connection errors explained. */
export function describeFailure(err: unknown): string {
  if (err instanceof ToolError) return err.message;
  const e = err as { code?: string; message?: string; sqlMessage?: string };
  if (e?.code === 'ER_ACCESS_DENIED_ERROR') return 'MySQL refused the login: check the user and password in MYSQL_URL';
  if (e?.code === 'ER_BAD_DB_ERROR') return `${e.sqlMessage ?? 'no such database'}: check MYSQL_URL, or run npm run db:migrate`;
  if (e?.code === 'ER_NO_SUCH_TABLE') return `${e.sqlMessage ?? 'no such table'}: run npm run db:migrate`;
  return e?.message ?? String(err);
}
