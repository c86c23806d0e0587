import { describe, expect, it } from 'vitest';
import { uuidV7 } from './recomm-id.js';

describe('uuidV7', () => {
  it('is an RFC 9562 version 7 UUID carrying the time, sorting by it, and random within a millisecond', () => {
    const id = uuidV7(0x0123_4567_89ab);
    expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const earlier = uuidV7(1_700_000_000_000);
    const later = uuidV7(1_700_000_000_001);
    expect(earlier < later).toBe(true);
    const same = new Set(Array.from({ length: 1000 }, () => uuidV7(1_700_000_000_000)));
    expect(same.size).toBe(1000);
  });
});
