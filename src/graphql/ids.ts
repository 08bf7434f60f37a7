import { GraphQLError } from 'graphql';

/** Ids are positive integers, given as GraphQL IDs (strings or numbers). */
const isId = (value: string | number): boolean => /^[1-9]\d{0,15}$/.test(String(value)) && Number.isSafeInteger(Number(value));

export function parseId(value: string | number, field = 'id'): number {
  if (!isId(value)) {
    throw badInput(`${field} must be a positive integer, got ${JSON.stringify(String(value).slice(0, 40))}`, field);
  }
  return Number(value);
}

/** Failure event ids count up from 1; `after: 0` means from the first one kept. */
export function parseEventId(value: string | number, field = 'after'): number {
  return String(value) === '0' ? 0 : parseId(value, field);
}

export const MAX_IDS_PER_REQUEST = 100;

export function parseIds(values: ReadonlyArray<string | number>, field = 'ids'): number[] {
  if (values.length > MAX_IDS_PER_REQUEST) {
    throw badInput(`${field} may hold at most ${MAX_IDS_PER_REQUEST} ids, got ${values.length}`, field);
  }
  // The field's name is only built for an id that is refused: most lists are all good.
  return values.map((v, i) => (isId(v) ? Number(v) : parseId(v, `${field}[${i}]`)));
}

export function badInput(message: string, field: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field } });
}
