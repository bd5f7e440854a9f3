import { describe, it } from '@jest/globals';
import { tokenStoreContract } from '../testing/index.js';
import { MemoryTokenStore } from './memory-token.store.js';

describe('MemoryTokenStore', () => {
  const store = new MemoryTokenStore();
  for (const check of tokenStoreContract(() => store)) it(check.name, check.run);
});
