import { badInput } from '../../graphql/ids';

/**
 * A connection's cursors are opaque to clients and stable: an edge's cursor names its
 * id, and pages go down by id, so a cursor means the same place in its list however
 * many edges are added above it. Base64url of `<kind>:<id>`, so a cursor of another
 * kind of list (an order's given to reviews) is refused, not misread.
 */
export function encodeCursor(kind: string, id: number): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

/** The edge id `after` names; undefined if none was given. A cursor that is not one of `kind`'s is BAD_USER_INPUT. */
export function decodeCursor(kind: string, after: string | null | undefined): number | undefined {
  if (after == null) return undefined;
  const match = /^([a-z]+):([1-9]\d{0,15})$/.exec(Buffer.from(after, 'base64url').toString());
  if (!match || match[1] !== kind || !Number.isSafeInteger(Number(match[2]))) {
    throw badInput(`after is not a cursor of this list (give an edge's cursor, or pageInfo.endCursor, from the same field)`, 'after');
  }
  return Number(match[2]);
}
