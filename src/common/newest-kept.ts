/**
 * A map that keeps the newest `limit` entries it was given, for the demo's in-memory records.
 * The oldest is found in a ring of keys, not by the Map's own order: deleted entries stay in a
 * Map's table until it is rebuilt, and `keys().next()` steps over all of them, thousands once
 * the map is full (6 µs per insertion, against 0.8 µs with the ring; docs/PERFORMANCE.md).
 */
export class NewestKept<K, V> {
  private readonly entries = new Map<K, V>();
  private readonly ring: (K | undefined)[];
  private oldest = 0;

  constructor(private readonly limit: number) {
    this.ring = new Array<undefined>(limit);
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Adds a key that is not kept yet, dropping the oldest past the limit. */
  add(key: K, value: V): void {
    const dropped = this.ring[this.oldest];
    if (dropped !== undefined) this.entries.delete(dropped);
    this.ring[this.oldest] = key;
    this.oldest = (this.oldest + 1) % this.limit;
    this.entries.set(key, value);
  }
}
