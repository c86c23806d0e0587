import type { RankerExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { gru } from '../../onnx/gru.js';
import { cast, dense, reduceSum, squeeze, type SafeIndex } from '../../onnx/layers.js';
import { gruRun, type KgSongWeights } from './network.js';
import { StateScorer } from './scorer.js';

/**
 * kg-song as a ranker that reads the user's history. The graph holds the GCN-refined item
 * embeddings (computed once at export: they depend on the KG and the weights only), the GRU and the
 * MLP as initializers:
 *
 *   history [batch, historyLength] → valid entries moved to the front, order kept (TopK over
 *   "valid ? length − position : 0") → Gather embeddings → ONNX GRU with sequence_lens = number of
 *   valid entries → state; score = MLP([state, z_item, state ⊙ z_item]).
 *
 * The compaction lets callers pad anywhere (core pads at the end). The user index is not used: the
 * state comes from the history alone, so an unknown user with a history scores like a known one.
 */
export function kgSongRankerExport(w: KgSongWeights, items: Float32Array, historyLength: number, nUsers: number): RankerExport {
  const d = w.dim;
  const nItems = w.nItems;
  return {
    kind: 'ranker',
    nUsers,
    nItems,
    historyLength,
    buildGraph(g: GraphBuilder, _user: Value, itemIndex: Value, history?: SafeIndex): Value {
      if (!history) throw new Error('kg-song ranker needs the history input');
      // one zero row past the items: padding gathers it (and is cut off by sequence_lens anyway)
      const padded = new Float32Array((nItems + 1) * d);
      padded.set(items);
      const table = g.initializer('kg_song.items', padded, [nItems + 1, d]);
      const L = historyLength;
      const rank = g.float32(Array.from({ length: L }, (_, p) => L - p), [1, L]);
      const key = g.op('Where', [history.valid, rank, g.float32(0)], {}, { name: 'history_order_key' });
      const [, order] = g.opMulti('TopK', [key, g.int64([L])], 2, { axis: 1, largest: 1, sorted: 1 }, { name: 'history_order' });
      const compact = g.op('GatherElements', [history.index, order!], { axis: 1 }, { name: 'history_compact' });
      const lengths = reduceSum(g, cast(g, history.valid, 'int64'), [1], false, 'history_length');
      const x = g.op('Gather', [table, compact], { axis: 0 }, { name: 'history_embeddings' });
      const state = gru(g, x, lengths, w.gru, 'kg_song.gru');
      const z = g.op('Gather', [table, itemIndex], { axis: 0 }, { name: 'candidate_embedding' });
      let h = g.op('Concat', [state, z, g.op('Mul', [state, z])], { axis: 1 }, { name: 'mlp_input' });
      w.mlp.forEach((layer, k) => {
        const last = k === w.mlp.length - 1;
        h = dense(g, h, { ...layer, activation: last ? 'linear' : 'relu' }, `kg_song.mlp${k}`);
      });
      return squeeze(g, h, [1]);
    },
    scorePairs(_users: Int32Array, pairItems: Int32Array, histories?: readonly Int32Array[]): Float32Array {
      const out = new Float32Array(pairItems.length);
      for (let b = 0; b < pairItems.length; b++) {
        const raw = histories?.[b] ?? new Int32Array(0);
        // the graph's input holds the first historyLength entries; padding among them is dropped
        const valid = Int32Array.from(Array.from(raw.subarray(0, historyLength)).filter((i) => i >= 0 && i < nItems));
        const state = gruRun(w, items, valid).h;
        out[b] = new StateScorer(w, state).score(items, pairItems[b]! * d);
      }
      return out;
    },
  };
}
