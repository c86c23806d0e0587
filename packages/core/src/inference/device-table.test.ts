import { describe, expect, it } from 'vitest';
import { createOnFirstAvailable, providersFor } from './device-table.js';

const table = { auto: ['gpu', 'cpu'], cpu: ['cpu'], gpu: ['gpu'] };

describe('device table', () => {
  it('looks devices up and refuses unknown ones, listing the valid names', () => {
    expect(providersFor(table, 'auto')).toEqual(['gpu', 'cpu']);
    expect(() => providersFor(table, 'toString')).toThrow('Invalid device: "toString". Valid values: "auto", "cpu", "gpu".');
    expect(() => providersFor(table, 3)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });

  it('skips unavailable providers, records failed ones, and takes the first that works', async () => {
    const created: string[] = [];
    const result = await createOnFirstAvailable('rt', 'auto', ['a', 'b', 'c'], {
      unavailable: (p) => (p === 'a' ? 'no driver' : undefined),
      create: async (p) => {
        created.push(p);
        if (p === 'b') throw new Error('init failed');
        return `session-${p}`;
      },
      isProviderFailure: () => true,
    });
    expect(result).toEqual({ session: 'session-c', provider: 'c' });
    expect(created).toEqual(['b', 'c']);
  });

  it('lists every attempt with its reason when nothing works', async () => {
    const error = await createOnFirstAvailable('rt', 'gpu', ['gpu', 'npu'], {
      unavailable: (p) => (p === 'gpu' ? 'no driver' : undefined),
      create: async () => {
        throw new Error('boom');
      },
      isProviderFailure: () => true,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DEVICE_UNAVAILABLE',
      message: 'No execution provider for device "gpu" is available in rt. Tried: gpu (no driver); npu (boom).',
    });
  });

  it('rethrows a failure of the last-resort provider as the model error it is', async () => {
    const bad = new Error('invalid protobuf');
    await expect(
      createOnFirstAvailable('rt', 'cpu', ['cpu'], {
        unavailable: () => undefined,
        create: async () => {
          throw bad;
        },
        isProviderFailure: (p) => p !== 'cpu',
      }),
    ).rejects.toBe(bad);
  });
});
