/**
 * An input object as the fields the client actually sent: GraphQL leaves omitted
 * fields undefined, and those must mean "unchanged", not "set to null".
 */
export function definedFields<T extends object>(input: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as never;
}

/**
 * Every key of a list through one loader, in order; the first failure fails the list.
 * Not DataLoader's loadMany: it chains a `catch` onto each key's promise to hand back
 * errors in place of values (a second promise and a closure per key, for a list that
 * must throw anyway), and a list of 100 rows paid for 200 promises instead of 100.
 */
export function loadAll<K, V>(loader: { load(key: K): Promise<V> }, keys: readonly K[]): Promise<V[]> {
  return Promise.all(keys.map((key) => loader.load(key)));
}
