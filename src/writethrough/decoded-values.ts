/**
 * What each cached value of one entity type last decoded to, by id, for as long as
 * Redis keeps answering with the same bytes.
 *
 * This is not a cache in front of the cache: every read still asks Redis, and an
 * entry is used only when the value Redis just returned is byte for byte the one it
 * was decoded from. JSON.parse of a row is a pure function of those bytes, so the
 * answer is the one a fresh decode would give — a newer write, from this instance or
 * any other, changes the bytes and is decoded anew.
 *
 * Why: a warm `users(ids: 100)` read spent more CPU decoding the 100 values (the
 * parse, a Date per date field, and the garbage collector moving those objects while
 * the request was in flight) than executing the query (bench/findings.md). Remembered
 * rows live in the old generation and cost a string comparison.
 *
 * Remembered rows are shared by every request that reads them, so they are frozen:
 * nothing downstream may change a loaded row (nothing does; the freeze makes a
 * mistake loud instead of leaking one request's change into another's answer).
 */
export class DecodedValues<Value> {
  private readonly entries = new Map<number, { raw: string; value: Value }>();

  /** `capacity`: how many ids are remembered (oldest first out); 0 remembers none. */
  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** `decode` runs only when `raw` is not what `id` last decoded from. */
  get(id: number, raw: string, decode: (raw: string) => Value): Value {
    const entry = this.entries.get(id);
    // Strings from different replies are different objects: === compares their
    // characters (length first), a memcmp of a few hundred bytes.
    if (entry !== undefined && entry.raw === raw) return entry.value;
    const value = decode(raw);
    if (this.capacity === 0) return value;
    if (entry === undefined && this.entries.size >= this.capacity) {
      this.entries.delete(this.entries.keys().next().value as number);
    }
    this.entries.set(id, { raw, value });
    return value;
  }
}
