/**
 * The row a foreign key points at, as a field resolver loaded it (an order's or a
 * review's user and product). MySQL keeps it alive while anything refers to it, so a
 * missing one means something is badly wrong: an internal error on that field, never
 * a silent null.
 */
export function referenced<T>(row: T | null, what: string): T {
  if (row === null) throw new Error(`${what} is missing`);
  return row;
}
