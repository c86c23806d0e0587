import { expect } from 'vitest';
import { bprBatchLoss, propagate, type NormalizedGraph } from './index.js';

/**
 * Test helper: the analytic gradient of the BPR loss through `layers` propagation steps (forward,
 * loss, propagation of the output gradient back) checked against central finite differences on
 * every ego-embedding value. Returns the analytic gradient for further assertions.
 */
export function expectBprGradientMatches(
  graph: NormalizedGraph,
  ego: Float32Array,
  d: number,
  layers: number,
  triples: { u: Int32Array; i: Int32Array; j: Int32Array },
  l2: number,
): Float32Array {
  const N = graph.nodes;
  const lossAt = (): number => {
    const F = new Float32Array(N * d);
    propagate(graph, ego, d, layers, F, new Float32Array(N * d), new Float32Array(N * d));
    return bprBatchLoss(F, ego, d, triples, l2, new Float32Array(N * d), new Float32Array(N * d));
  };
  const F = new Float32Array(N * d);
  propagate(graph, ego, d, layers, F, new Float32Array(N * d), new Float32Array(N * d));
  const gF = new Float32Array(N * d);
  const grad = new Float32Array(N * d);
  bprBatchLoss(F, ego, d, triples, l2, gF, grad);
  const back = new Float32Array(N * d);
  propagate(graph, gF, d, layers, back, new Float32Array(N * d), new Float32Array(N * d));
  for (let k = 0; k < grad.length; k++) grad[k]! += back[k]!;
  for (let k = 0; k < ego.length; k++) {
    const orig = ego[k]!;
    ego[k] = orig + 1e-3;
    const up = lossAt();
    const hUp = ego[k]! - orig;
    ego[k] = orig - 1e-3;
    const down = lossAt();
    const hDown = orig - ego[k]!;
    ego[k] = orig;
    const numeric = (up - down) / (hUp + hDown);
    expect(Math.abs(numeric - grad[k]!)).toBeLessThan(1e-4 + 1e-3 * Math.abs(numeric));
  }
  return grad;
}
