import { GraphBuilder } from '../../onnx/builder.js';
import { gru, type GruParams } from '../../onnx/gru.js';
import { dense, transpose } from '../../onnx/layers.js';
import type { Gru } from './gru.js';
import type { QNetwork } from './q-network.js';

/**
 * The DQN's Q-network as an ONNX graph, built with the shared ONNX GRU layer (onnx/gru.ts; this
 * network's cell is ONNX's default linear_before_reset = 0 and its weights are already in the
 * operator's W/R/B layout).
 *
 * Inputs:
 *   liked, skipped   int64 [batch, N]  item indices, oldest first, RIGHT-padded (any valid index in the padding)
 *   liked_len, skipped_len  int64 [batch]  real entries per row (0 allowed)
 *   candidates       int64 [C]          items to score
 *   prior            float32 [batch, N_phi]  φ₀(s) added to φ (rl/dqn/belief.ts computes it; zeros when
 *                    the model was trained with prior=none). The ridge fold-in is a per-row linear solve,
 *                    so it stays outside the graph.
 * Output:
 *   q                float32 [batch, C]  Q(s, candidate)
 */
export const DQN_ONNX_INPUTS = ['liked', 'liked_len', 'skipped', 'skipped_len', 'candidates', 'prior'] as const;

function gruParams(cell: Gru): GruParams {
  const h = cell.hiddenSize;
  return { inputSize: cell.inputSize, hiddenSize: h, w: cell.W.slice(), r: cell.R.slice(), bw: cell.B.slice(0, 3 * h), br: cell.B.slice(3 * h, 6 * h), linearBeforeReset: false };
}

export function qNetworkGraph(net: QNetwork): Uint8Array {
  const { seqLen: N, embDim: E, hidden: H, mlpHidden: M } = net.shape;
  const D = net.outDim;
  const n = net.nItems;
  const g = new GraphBuilder('dqn_q_network');
  const liked = g.input('liked', 'int64', ['batch', N]);
  const likedLen = g.input('liked_len', 'int64', ['batch']);
  const skipped = g.input('skipped', 'int64', ['batch', N]);
  const skippedLen = g.input('skipped_len', 'int64', ['batch']);
  const candidates = g.input('candidates', 'int64', ['candidates']);
  const prior = g.input('prior', 'float32', ['batch', D]);
  const table = g.initializer('item_embeddings', net.items, [n, E]);
  const hp = gru(g, g.op('Gather', [table, liked], { axis: 0 }), likedLen, gruParams(net.gruPos), 'gru_liked');
  const hn = gru(g, g.op('Gather', [table, skipped], { axis: 0 }), skippedLen, gruParams(net.gruNeg), 'gru_skipped');
  // with priorInput the MLP reads φ₀ after the two GRU states (q-network.ts)
  const f = g.op('Concat', net.mlpIn > 2 * H ? [hp, hn, prior] : [hp, hn], { axis: 1 });
  const u = dense(g, f, { inputDim: net.mlpIn, outputDim: M, weight: transpose(net.W1, M, net.mlpIn), bias: net.b1.slice(), activation: 'relu' }, 'mlp1');
  const phi0 = dense(g, u, { inputDim: M, outputDim: D, weight: transpose(net.W2, D, M), bias: net.b2.slice(), activation: 'linear' }, 'mlp2');
  const phi = g.op('Add', [phi0, prior]);
  // candidate vectors [e_a, 1], so φ's last coordinate is the state-value term
  const augmented = new Float32Array(n * D);
  for (let i = 0; i < n; i++) {
    augmented.set(net.items.subarray(i * E, (i + 1) * E), i * D);
    augmented[i * D + E] = 1;
  }
  const cand = g.op('Gather', [g.initializer('candidate_vectors', augmented, [n, D]), candidates], { axis: 0 });
  const q = g.op('MatMul', [phi, g.op('Transpose', [cand], { perm: [1, 0] })]);
  g.output(q, 'q', 'float32', ['batch', 'candidates']);
  return g.toModel();
}
