import type { RankerExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { reduce, reduceSum, unsqueeze } from '../../onnx/layers.js';
import { KgcnWorkspace, meanUser, type KgcnWeights } from './network.js';

/**
 * KGCN as a ranker graph, exactly (no precomputed approximation): the item's sampled neighbourhood
 * tree is gathered hop by hop from constant adjacency tables, the user-specific relation attention
 * is a Softmax over u·R[r]/d, and the aggregators are MatMul + Add + Relu/Tanh, as in network.ts.
 * The unknown user (index nUsers) is the mean user embedding, in the graph and in scorePairs.
 */
export function kgcnRankerExport(w: KgcnWeights): RankerExport {
  const { nUsers, nItems, dim: d, nIter: H } = w;
  const n = w.neighbors.size;
  const nRel = w.relation.length / d;
  const nEntities = w.neighbors.entityCount;

  return {
    kind: 'ranker',
    nUsers,
    nItems,
    buildGraph(g: GraphBuilder, userIndex: Value, itemIndex: Value): Value {
      const users = new Float32Array((nUsers + 1) * d);
      users.set(w.user.subarray(0, nUsers * d));
      users.set(meanUser(w), nUsers * d);
      const u = g.op('Gather', [g.initializer('kgcn.user', users, [nUsers + 1, d]), userIndex], { axis: 0 }, { name: 'kgcn.user_rows' });
      const relTable = g.initializer('kgcn.relation', w.relation, [nRel, d]);
      const entTable = g.initializer('kgcn.entity', w.entity, [nEntities, d]);
      const adjE = g.initializer('kgcn.adj_entity', BigInt64Array.from(w.neighbors.entities, BigInt), [nEntities, n]);
      const adjR = g.initializer('kgcn.adj_relation', BigInt64Array.from(w.neighbors.relations, BigInt), [nEntities, n]);
      const itemEntity = g.initializer('kgcn.item_entity', BigInt64Array.from(w.itemEntity, BigInt), [nItems]);

      // entities [B, n^h] per hop, relations of the edges that reached them
      const ents: Value[] = [unsqueeze(g, g.op('Gather', [itemEntity, itemIndex], { axis: 0 }), [1])];
      const rels: (Value | null)[] = [null];
      const flat = g.int64([0, -1]);
      for (let h = 1; h <= H; h++) {
        const prev = ents[h - 1]!;
        ents.push(g.op('Reshape', [g.op('Gather', [adjE, prev], { axis: 0 }), flat], {}, { name: `kgcn.hop${h}_entities` }));
        rels.push(g.op('Reshape', [g.op('Gather', [adjR, prev], { axis: 0 }), flat], {}, { name: `kgcn.hop${h}_relations` }));
      }
      // π = mean(u ⊙ R[r]) for every edge of every hop: [B, n^h]
      const uRow = unsqueeze(g, u, [1]);
      const scores: (Value | null)[] = [null];
      for (let h = 1; h <= H; h++) {
        const rVecs = g.op('Gather', [relTable, rels[h]!], { axis: 0 });
        scores.push(g.op('Mul', [reduceSum(g, g.op('Mul', [rVecs, uRow]), [2], false), g.float32(1 / d)], {}, { name: `kgcn.hop${h}_scores` }));
      }
      let vec: Value[] = ents.map((e, h) => g.op('Gather', [entTable, e], { axis: 0 }, { name: `kgcn.hop${h}_vectors` }));
      for (let i = 0; i < H; i++) {
        const layer = w.layers[i]!;
        const inDim = layer.weight.length / d;
        const W = g.initializer(`kgcn.layer${i}.weight`, layer.weight, [inDim, d]);
        const b = g.initializer(`kgcn.layer${i}.bias`, layer.bias, [d]);
        const next: Value[] = [];
        for (let hop = 0; hop < H - i; hop++) {
          const width = n ** hop;
          const self = vec[hop]!;
          const neigh = g.op('Reshape', [vec[hop + 1]!, g.int64([0, width, n, d])]);
          const a = g.op('Softmax', [g.op('Reshape', [scores[hop + 1]!, g.int64([0, width, n])])], { axis: -1 }, { name: `kgcn.iter${i}_hop${hop}_attention` });
          const m = reduce(g, 'ReduceMean', g.op('Mul', [neigh, unsqueeze(g, a, [3])]), [2], false, `kgcn.iter${i}_hop${hop}_mix`);
          const x =
            w.aggregator === 'sum' ? g.op('Add', [self, m]) : w.aggregator === 'concat' ? g.op('Concat', [self, m], { axis: 2 }) : m;
          const z = g.op('Add', [g.op('MatMul', [x, W]), b]);
          next.push(g.op(i === H - 1 ? 'Tanh' : 'Relu', [z], {}, { name: `kgcn.iter${i}_hop${hop}` }));
        }
        vec = next;
      }
      const item = g.op('Reshape', [vec[0]!, g.int64([0, d])], {}, { name: 'kgcn.item_vector' });
      return reduceSum(g, g.op('Mul', [u, item]), [1], false, 'kgcn.logit');
    },
    scorePairs(users: Int32Array, items: Int32Array): Float32Array {
      const ws = new KgcnWorkspace(w);
      const mean = meanUser(w);
      const out = new Float32Array(users.length);
      for (let b = 0; b < users.length; b++) {
        const user = users[b]!;
        const known = user >= 0 && user < nUsers;
        const uVec = known ? w.user.subarray(user * d, user * d + d) : mean;
        out[b] = ws.forward(uVec, known ? user : nUsers, items[b]!);
      }
      return out;
    },
  };
}
