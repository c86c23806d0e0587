/**
 * REINFORCE as a bundle: the softmax policy's user side becomes the bundle's user graph
 * (the last N history items → φ(s)), and π's output item vectors V become the item rows, so core
 * ranks by φ(s)·V_a, π's logits: the top of π, as `scoreBatch` ranks. No rl section: the policy is
 * trained offline from logged propensities, and serves as a retrieval model behind any bandit policy.
 */
import type { UserGraphExport } from '../../export/types.js';
import type { GraphBuilder, Value } from '../../onnx/builder.js';
import { dense, maskedMeanLookup, transpose, type SafeIndex } from '../../onnx/layers.js';
import { graphStates } from '../drr/export.js';
import type { SoftmaxPolicy } from './policy.js';

export function reinforceUserGraphExport(policy: SoftmaxPolicy, stateSize: number, nUsers: number): UserGraphExport {
  return {
    kind: 'user-graph',
    scoring: 'embedding',
    nUsers,
    nItems: policy.nItems,
    dim: policy.D,
    itemVectors: policy.V,
    buildGraph: (g, _user, history) => buildPolicyGraph(g, policy, stateSize, history),
    reference: (_users, histories) => policy.userVectors(graphStates(histories, stateSize, policy.nItems), stateSize),
  };
}

/** [batch] φ(s): the mean of the last N positions' valid items' fixed embeddings through π's MLP. */
function buildPolicyGraph(g: GraphBuilder, policy: SoftmaxPolicy, n: number, history: SafeIndex): Value {
  const { embDim: E, hidden: M } = policy.shape;
  const nItems = policy.nItems;
  const lastN = (x: Value, name: string) => g.op('Slice', [x, g.int64([-n]), g.int64([Number.MAX_SAFE_INTEGER]), g.int64([1])], {}, { name });
  const state: SafeIndex = { index: lastN(history.index, 'state_items'), valid: lastN(history.valid, 'state_valid') };
  const table = new Float32Array((nItems + 1) * E); // the padding row stays zero
  table.set(policy.items);
  // no valid item → 0, as training's encode
  const x = maskedMeanLookup(g, g.initializer('reinforce.item_rows', table, [nItems + 1, E]), state, 'state_mean');
  const h = dense(g, x, { inputDim: E, outputDim: M, weight: transpose(policy.W1, M, E), bias: policy.b1, activation: 'relu' }, 'pi.hidden');
  return dense(g, h, { inputDim: M, outputDim: policy.D, weight: transpose(policy.W2, policy.D, M), bias: policy.b2, activation: 'linear' }, 'pi.phi');
}
