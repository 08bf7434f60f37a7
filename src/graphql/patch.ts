/**
 * An input object as the fields the client actually sent: GraphQL leaves omitted
 * fields undefined, and those must mean "unchanged", not "set to null".
 */
export function definedFields<T extends object>(input: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as never;
}
