import { describe } from '@jest/globals';
import { tokenStoreContract } from '../testing/token-store.contract.js';
import { MemoryTokenStore } from './memory-token.store.js';

describe('MemoryTokenStore', () => {
  const store = new MemoryTokenStore();
  tokenStoreContract(() => store);
});
