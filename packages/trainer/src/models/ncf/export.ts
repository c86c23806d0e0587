import { denseLayersToExport } from '../../engine/dense.js';
import type { EmbeddingTable } from '../../engine/embedding-table.js';
import type { DenseLayer, RankerExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { dense } from '../../onnx/layers.js';
import { type NcfNetwork, gmfWidth, meanRow, outputWidth } from './network.js';

/** A [rows + 1, dim] copy of a user table whose last row is the mean user (the unknown user's row). */
function withMeanRow(table: EmbeddingTable): Float32Array {
  const out = new Float32Array((table.rows + 1) * table.dim);
  out.set(table.values);
  out.set(meanRow(table), table.rows * table.dim);
  return out;
}

interface Tables {
  user: Float32Array;
  item: Float32Array;
  dim: number;
}

/**
 * The network as a ranker graph: Gather the user/item rows of each part, multiply (GMF) or concat
 * and run the tower (MLP), concat the two, one linear unit → logits [batch]. The parameters are
 * copied, so the export stays valid if the model is trained further or disposed.
 */
export function ncfRankerExport(net: NcfNetwork): RankerExport {
  const { nUsers, nItems } = net;
  const gmf: Tables | undefined = net.gmf ? { user: withMeanRow(net.gmf.user), item: Float32Array.from(net.gmf.item.values), dim: net.gmf.user.dim } : undefined;
  const mlp = net.mlp
    ? { user: withMeanRow(net.mlp.user), item: Float32Array.from(net.mlp.item.values), userDim: net.mlp.user.dim, itemDim: net.mlp.item.dim, layers: denseLayersToExport(net.mlp.tower.layers) }
    : undefined;
  const width = outputWidth(net);
  const g = gmfWidth(net);
  const output: DenseLayer = { inputDim: width, outputDim: 1, weight: net.out.values.slice(0, width), bias: net.out.values.slice(width, width + 1), activation: 'linear' };

  return {
    kind: 'ranker',
    nUsers,
    nItems,
    buildGraph(graph: GraphBuilder, userIndex: Value, itemIndex: Value): Value {
      const parts: Value[] = [];
      const gather = (name: string, values: Float32Array, rows: number, dim: number, at: Value): Value =>
        graph.op('Gather', [graph.initializer(name, values, [rows, dim]), at], { axis: 0 }, { name: `${name}_rows` });
      if (gmf) {
        const pu = gather('gmf_user', gmf.user, nUsers + 1, gmf.dim, userIndex);
        const qi = gather('gmf_item', gmf.item, nItems, gmf.dim, itemIndex);
        parts.push(graph.op('Mul', [pu, qi], {}, { name: 'gmf' }));
      }
      if (mlp) {
        const pu = gather('mlp_user', mlp.user, nUsers + 1, mlp.userDim, userIndex);
        const qi = gather('mlp_item', mlp.item, nItems, mlp.itemDim, itemIndex);
        let x = graph.op('Concat', [pu, qi], { axis: 1 }, { name: 'mlp_input' });
        mlp.layers.forEach((layer, k) => {
          x = dense(graph, x, layer, `mlp_${k}`);
        });
        parts.push(x);
      }
      const phi = parts.length === 1 ? (parts[0] as Value) : graph.op('Concat', parts, { axis: 1 }, { name: 'neumf' });
      const logit = dense(graph, phi, output, 'predict');
      return graph.op('Reshape', [logit, graph.int64([-1])], {}, { name: 'logit' });
    },
    scorePairs(users: Int32Array, items: Int32Array): Float32Array {
      const n = users.length;
      const out = new Float32Array(n);
      const h = output.weight;
      for (let b = 0; b < n; b++) {
        const u = users[b] as number;
        const i = items[b] as number;
        let z = output.bias[0] as number;
        if (gmf) {
          const d = gmf.dim;
          for (let j = 0; j < d; j++) z += (h[j] as number) * (gmf.user[u * d + j] as number) * (gmf.item[i * d + j] as number);
        }
        if (mlp) {
          let x = new Float64Array(mlp.userDim + mlp.itemDim);
          for (let j = 0; j < mlp.userDim; j++) x[j] = mlp.user[u * mlp.userDim + j] as number;
          for (let j = 0; j < mlp.itemDim; j++) x[mlp.userDim + j] = mlp.item[i * mlp.itemDim + j] as number;
          for (const layer of mlp.layers) {
            const y = new Float64Array(layer.outputDim);
            for (let o = 0; o < layer.outputDim; o++) {
              let s = layer.bias[o] as number;
              for (let k = 0; k < layer.inputDim; k++) s += (x[k] as number) * (layer.weight[k * layer.outputDim + o] as number);
              y[o] = layer.activation === 'relu' ? Math.max(0, s) : s;
            }
            x = y;
          }
          for (let j = 0; j < x.length; j++) z += (h[g + j] as number) * (x[j] as number);
        }
        out[b] = z;
      }
      return out;
    },
  };
}
