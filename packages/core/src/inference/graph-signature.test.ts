import { describe, expect, it } from 'vitest';
import type { GraphSpec } from '../bundle/manifest.js';
import { checkGraphSignature } from './graph-signature.js';
import type { GraphSession } from './types.js';

const spec: GraphSpec = {
  file: 'user_tower.onnx',
  opset: 17,
  inputs: [
    { name: 'user_index', dtype: 'int64', shape: ['batch'] },
    { name: 'history', dtype: 'int64', shape: ['batch', 'length'] },
  ],
  outputs: [{ name: 'user_embedding', dtype: 'float32', shape: ['batch', 8] }],
};

function session(over: Partial<GraphSession>): GraphSession {
  return {
    graphName: 'user_tower',
    provider: 'cpu',
    inputNames: ['user_index', 'history'],
    outputNames: ['user_embedding'],
    run: async () => ({}),
    dispose: async () => {},
    ...over,
  };
}

describe('checkGraphSignature', () => {
  it('accepts a matching graph, with or without metadata', () => {
    expect(() => checkGraphSignature(spec, session({}))).not.toThrow();
    expect(() =>
      checkGraphSignature(spec, session({ outputMetadata: [{ name: 'user_embedding', dtype: 'float32', shape: ['batch', 8] }] })),
    ).not.toThrow();
  });

  it('names the file and the differing input names', () => {
    expect(() => checkGraphSignature(spec, session({ inputNames: ['user_idx', 'history'] }))).toThrow(
      expect.objectContaining({
        code: 'BUNDLE_SIGNATURE_MISMATCH',
        file: 'user_tower.onnx',
        message: expect.stringMatching(/^user_tower\.onnx: .*not in graph: user_index.*not declared: user_idx/),
      }),
    );
  });

  it('compares dtypes and fixed dimensions where the runtime reports them', () => {
    const wrong = session({
      inputMetadata: [{ name: 'user_index', dtype: 'int32', shape: ['batch'] }],
      outputMetadata: [{ name: 'user_embedding', dtype: 'float32', shape: ['batch', 16] }],
    });
    expect(() => checkGraphSignature(spec, wrong)).toThrow(/input user_index is int32 in the graph but int64 in the manifest; output user_embedding dimension 1 is 16/);
  });
});
