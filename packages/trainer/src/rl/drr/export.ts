/**
 * DRR as a bundle: the actor with its state module becomes the bundle's user graph
 * (user_index + the last N history items → unit action, scored against the item rows), and the
 * actor/critic weights go to the rl section's weights file for core's online DDPG
 * (core/src/rl). The JavaScript reference is core's own forward pass, so the parity test compares
 * tfjs (training), onnxruntime (the graph) and core (online serving) on the same inputs.
 */
import { DRR_TENSORS, DrrNetwork, drrLayout, drrStateDim, type DrrShape, type DrrTensorName, type DrrWeights } from '@tastemaker/core';
import type { UserGraphExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { dense, reduceSum, type SafeIndex, unsqueeze } from '../../onnx/layers.js';
import type { DrrNetworks } from './networks.js';

/** The weights of trained networks in core's layout (target = online: the trainer's target copy is not kept). */
export function drrWeightsOf(networks: DrrNetworks, users: { rows: number; values: Float32Array } | undefined): DrrWeights {
  const s = networks.shape;
  const shape: DrrShape = { kind: s.kind, stateSize: s.stateSize, dim: s.dim, actorHidden: s.actorHidden, criticHidden: s.criticHidden, skip: s.skip };
  const { offsets, total } = drrLayout(shape);
  const params = new Float32Array(total);
  const [a0, a1] = networks.actor.layers;
  const [c0, c1] = networks.critic.layers;
  const source: Record<DrrTensorName, { dataSync(): ArrayLike<number> }> = {
    'sm.weights': networks.sm.weights,
    'actor.0.weight': a0!.weight,
    'actor.0.bias': a0!.bias,
    'actor.1.weight': a1!.weight,
    'actor.1.bias': a1!.bias,
    'interaction.weight': networks.interaction.weight,
    'interaction.bias': networks.interaction.bias,
    'critic.0.weight': c0!.weight,
    'critic.0.bias': c0!.bias,
    'critic.1.weight': c1!.weight,
    'critic.1.bias': c1!.bias,
  };
  for (const name of DRR_TENSORS) params.set(Float32Array.from(source[name].dataSync()), offsets[name]);
  return { shape, params, target: params.slice(), ...(users ? { users } : {}) };
}

/** The state of each row as the graph builds it: the last N positions of the history, entries outside [0, nItems) as padding. */
export function graphStates(histories: readonly Int32Array[], n: number, nItems: number): Int32Array {
  const out = new Int32Array(histories.length * n).fill(-1);
  histories.forEach((h, b) => {
    const take = h.subarray(Math.max(0, h.length - n));
    take.forEach((item, j) => (out[b * n + n - take.length + j] = item >= 0 && item < nItems ? item : -1));
  });
  return out;
}

/** Actions [users.length, d] from core's forward pass: the reference for the ONNX graph and the trainer. */
export function referenceActions(weights: DrrWeights, itemRows: Float32Array, nItems: number, users: Int32Array, histories: readonly Int32Array[]): Float32Array {
  const { stateSize: n, dim: d } = weights.shape;
  const net = new DrrNetwork(weights.shape, weights.params);
  const states = graphStates(histories, n, nItems);
  const out = new Float32Array(users.length * d);
  const nUsers = weights.users?.rows ?? 0;
  for (let b = 0; b < users.length; b++) {
    const user = users[b]!;
    const u = weights.users !== undefined && user >= 0 && user < nUsers ? weights.users.values.subarray(user * d, (user + 1) * d) : new Float32Array(d);
    const items = new Float32Array(n * d);
    for (let l = 0; l < n; l++) {
      const i = states[b * n + l]!;
      if (i >= 0) items.set(itemRows.subarray(i * d, (i + 1) * d), l * d);
    }
    out.set(net.forward(u, items).a, b * d);
  }
  return out;
}

function view(weights: DrrWeights, name: DrrTensorName): Float32Array {
  const { offsets, sizes } = drrLayout(weights.shape);
  return weights.params.subarray(offsets[name], offsets[name] + sizes[name]);
}

/** The actor graph: safe user and history indices → unit action [batch, d]. */
function buildActorGraph(g: GraphBuilder, weights: DrrWeights, itemRows: Float32Array, nItems: number, user: SafeIndex, history: SafeIndex): Value {
  const { kind, stateSize: n, dim: d, actorHidden, skip } = weights.shape;
  // The last N positions, left-padded to exactly N (per-position weights need a fixed length).
  const last = g.op('Slice', [history.index, g.int64([-n]), g.int64([Number.MAX_SAFE_INTEGER]), g.int64([1])], {}, { name: 'state_last_n' });
  const length = g.op('Gather', [g.op('Shape', [last]), g.int64(1)], { axis: 0 }, { name: 'state_length' });
  const padLeft = g.op('Sub', [g.int64(n), length], {}, { name: 'state_pad_left' });
  const pads = g.op('Concat', [g.int64([0]), unsqueeze(g, padLeft, [0]), g.int64([0, 0])], { axis: 0 }, { name: 'state_pads' });
  const state = g.op('Pad', [last, pads, g.int64(nItems)], { mode: 'constant' }, { name: 'state_items' });
  const itemTable = new Float32Array((nItems + 1) * d);
  itemTable.set(itemRows.subarray(0, nItems * d));
  const H = g.op('Gather', [g.initializer('drr.item_rows', itemTable, [nItems + 1, d]), state], { axis: 0 }, { name: 'state_rows' }); // [B, N, d]
  // drr-n / drr-p never read the user; drr-u / drr-ave gather the user's row (zero for unknown users)
  const userRow = (): Value => {
    const nUsers = weights.users?.rows ?? 0;
    const userTable = new Float32Array((nUsers + 1) * d);
    if (weights.users) userTable.set(weights.users.values);
    return g.op('Gather', [g.initializer('drr.user_rows', userTable, [nUsers + 1, d]), user.index], { axis: 0 }, { name: 'user_row' }); // [B, d]
  };
  const u = kind === 'drr-u' || kind === 'drr-ave' ? userRow() : undefined;
  const w = g.initializer('sm.weights', view(weights, 'sm.weights'), [1, n, 1]);
  const weighted = g.op('Mul', [H, w], {}, { name: 'state_weighted' }); // [B, N, d]
  const flat = (x: Value, width: number, name: string) => g.op('Reshape', [x, g.int64([-1, width])], {}, { name });
  const pairs = (): Value => {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) (a.push(i), b.push(j));
    const left = g.op('Gather', [weighted, g.int64(a)], { axis: 1 }, { name: 'pair_left' });
    const right = g.op('Gather', [weighted, g.int64(b)], { axis: 1 }, { name: 'pair_right' });
    return flat(g.op('Mul', [left, right], {}, { name: 'pair_products' }), a.length * d, 'pairs_flat');
  };
  let s: Value;
  if (kind === 'drr-n') s = flat(weighted, n * d, 'state');
  else if (kind === 'drr-p') s = g.op('Concat', [flat(weighted, n * d, 'positions_flat'), pairs()], { axis: 1 }, { name: 'state' });
  else if (kind === 'drr-u') {
    const withUser = g.op('Mul', [weighted, unsqueeze(g, u!, [1])], {}, { name: 'user_positions' });
    s = g.op('Concat', [flat(withUser, n * d, 'positions_flat'), pairs()], { axis: 1 }, { name: 'state' });
  } else {
    const p = reduceSum(g, weighted, [1], false, 'state_pooled');
    s = g.op('Concat', [u!, g.op('Mul', [u!, p]), p], { axis: 1 }, { name: 'state' });
  }
  const width = drrStateDim(kind, n, d);
  const hidden = dense(g, s, { inputDim: width, outputDim: actorHidden, weight: view(weights, 'actor.0.weight'), bias: view(weights, 'actor.0.bias'), activation: 'relu' }, 'actor.0');
  let out = dense(g, hidden, { inputDim: actorHidden, outputDim: d, weight: view(weights, 'actor.1.weight'), bias: view(weights, 'actor.1.bias'), activation: 'tanh' }, 'actor.1');
  if (skip) {
    const base = u !== undefined ? u : g.op('Div', [reduceSum(g, H, [1], false, 'state_sum'), g.float32(n)], {}, { name: 'state_mean' });
    out = g.op('Add', [out, base], {}, { name: 'actor_skip' });
  }
  // a = x / sqrt(|x|² + 1e-8), exactly as training and core normalise
  const norm = g.op('Sqrt', [g.op('Add', [reduceSum(g, g.op('Mul', [out, out]), [1], true, 'action_sq'), g.float32(1e-8)])], {}, { name: 'action_norm' });
  return g.op('Div', [out, norm], {}, { name: 'action' });
}

export function drrUserGraphExport(weights: DrrWeights, itemRows: Float32Array, nUsers: number, nItems: number): UserGraphExport {
  return {
    kind: 'user-graph',
    scoring: 'embedding',
    nUsers,
    nItems,
    dim: weights.shape.dim,
    itemVectors: itemRows,
    buildGraph: (g, user, history) => buildActorGraph(g, weights, itemRows, nItems, user, history),
    reference: (users, histories) => referenceActions(weights, itemRows, nItems, users, histories),
  };
}
