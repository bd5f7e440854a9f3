// cluster-key-slot (ioredis' own slot function) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot of `key` (CRC16 of its hash tag, or of the key), 0..16383. */
  export default function calculateSlot(key: string): number;
}
