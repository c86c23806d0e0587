import { invalidConfig } from '../errors/index.js';
import { DqnPolicy, type DqnModelData, type DqnPolicyOptions } from '../rl/dqn-policy.js';
import { DrrPolicy, type DrrModelData, type DrrPolicyOptions } from '../rl/drr-policy.js';
import { GreedyPolicy, RandomPolicy } from './baseline-policies.js';
import { EpsilonGreedyPolicy, type EpsilonGreedyOptions } from './epsilon-greedy.js';
import { LinUcbPolicy, type LinUcbOptions } from './linucb.js';
import type { Rng } from './rng.js';
import { ThompsonSamplingPolicy, type ThompsonSamplingOptions } from './thompson-sampling.js';
import { POLICY_KINDS, type Policy } from './types.js';

export type PolicyConfig =
  | { kind: 'greedy' }
  | { kind: 'random'; rng?: Rng }
  | ({ kind: 'epsilon-greedy' } & EpsilonGreedyOptions)
  | ({ kind: 'thompson' } & ThompsonSamplingOptions)
  | ({ kind: 'linucb' } & LinUcbOptions)
  | ({ kind: 'drr'; model: DrrModelData } & DrrPolicyOptions)
  /** `model` holds an open Q-network session: createDqnPolicy builds one from a bundle */
  | ({ kind: 'dqn'; model: DqnModelData } & DqnPolicyOptions);

/** Builds a policy from a config; an unknown kind fails listing the valid ones. */
export function createPolicy(config: PolicyConfig): Policy {
  switch (config.kind) {
    case 'greedy':
      return new GreedyPolicy();
    case 'random':
      return new RandomPolicy(config);
    case 'epsilon-greedy':
      return new EpsilonGreedyPolicy(config);
    case 'thompson':
      return new ThompsonSamplingPolicy(config);
    case 'linucb':
      return new LinUcbPolicy(config);
    case 'drr':
      return new DrrPolicy(config.model, config);
    case 'dqn':
      return new DqnPolicy(config.model, config);
    default:
      throw invalidConfig('policy kind', (config as { kind?: unknown }).kind, POLICY_KINDS);
  }
}
