import * as tf from '@tensorflow/tfjs-core';
import { Dense, DenseAdam, gradientStep, Mlp } from '../../engine/dense.js';
import type { Rng } from '../../engine/rng.js';
import { StateModule, type StateModuleKind } from './state-module.js';

/**
 * DRR's actor–critic (DDPG, Lillicrap et al. 2016) on top of a state module:
 *   actor   a = normalise(tanh(W2 relu(W1 s)))          the "ranking direction" for the items
 *   critic  Q(s, a) = W4 relu(W3 [s, a, a ⊙ (W5 s)])
 * with target copies of all of them that follow the online ones by soft updates
 * θ' ← τ θ + (1 − τ) θ'. The state module is shared by actor and critic and is trained end to end
 * through the critic's TD loss (see ddpgUpdate for why not through the actor's objective).
 *
 * Two choices beyond the paper, both measured on ML-1M drr-users: the action is scaled to unit
 * length, since items are ranked by a · item and only its direction matters (the critic no longer
 * has to learn that the length is irrelevant); and the critic sees the explicit state–action
 * interaction a ⊙ (W5 s) next to [s, a], so "a points where the state says" is one linear feature
 * away instead of something a ReLU layer must discover from a concatenation.
 */

export interface NetworkShape {
  kind: StateModuleKind;
  stateSize: number;
  /** width of user and item embeddings, and of the action */
  dim: number;
  actorHidden: number;
  criticHidden: number;
  /**
   * Adds a skip connection to the actor, a = normalise(base + tanh-MLP(s)), with the MLP's last
   * layer starting at zero so training starts from the pre-trained MF ranking: base = the user's
   * embedding for drr-u / drr-ave (whose state contains it), the mean of the state's item
   * embeddings for drr-n / drr-p (whose state does not).
   */
  skip: boolean;
}

export class DrrNetworks {
  readonly sm: StateModule;
  readonly actor: Mlp;
  readonly critic: Mlp;
  /** W5: projects the state into action space for the critic's interaction term */
  readonly interaction: Dense;

  constructor(
    readonly shape: NetworkShape,
    rng: Rng,
  ) {
    this.sm = new StateModule(shape.kind, shape.stateSize, shape.dim);
    this.actor = new Mlp(
      this.sm.dim,
      [
        { units: shape.actorHidden, activation: 'relu' },
        { units: shape.dim, activation: 'tanh' },
      ],
      rng,
    );
    if (shape.skip) {
      const last = this.actor.layers.at(-1)!;
      tf.tidy(() => last.weight.assign(tf.zerosLike(last.weight)));
    }
    this.interaction = new Dense(this.sm.dim, shape.dim, 'linear', rng);
    this.critic = new Mlp(
      this.sm.dim + 2 * shape.dim,
      [
        { units: shape.criticHidden, activation: 'relu' },
        { units: 1, activation: 'linear' },
      ],
      rng,
    );
  }

  /** the critic's own variables (its interaction projection included) */
  criticVariables(): tf.Variable[] {
    return [...this.critic.variables(), ...this.interaction.variables()];
  }

  variables(): tf.Variable[] {
    return [...this.sm.variables(), ...this.actor.variables(), ...this.criticVariables()];
  }

  /** unit-length action [B, dim] for users [B, dim] and state items [B, N·dim] */
  act(user: tf.Tensor2D, items: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.policy(user, items, this.sm.apply(user, items)));
  }

  /** the actor MLP's output before the skip and the normalisation */
  correction(s: tf.Tensor2D): tf.Tensor2D {
    return this.actor.apply(s);
  }

  /** the action from an already computed state s */
  policy(user: tf.Tensor2D, items: tf.Tensor2D, s: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const raw = this.actor.apply(s);
      if (!this.shape.skip) return normalizeRows(raw);
      const usesUser = this.shape.kind === 'drr-u' || this.shape.kind === 'drr-ave';
      return normalizeRows(tf.add<tf.Tensor2D>(raw, usesUser ? user : this.sm.meanItems(items)));
    });
  }

  criticOf(s: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.critic.apply(tf.concat([s, action, tf.mul<tf.Tensor2D>(action, this.interaction.apply(s))], 1)));
  }

  q(user: tf.Tensor2D, items: tf.Tensor2D, action: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.criticOf(this.sm.apply(user, items), action));
  }

  /** Q of the actor's own action: the target's bootstrap value and the actor's objective */
  qOfPolicy(user: tf.Tensor2D, items: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const s = this.sm.apply(user, items);
      return this.criticOf(s, this.policy(user, items, s));
    });
  }

  /** θ ← τ·source + (1 − τ)·θ for every variable (τ = 1 copies) */
  follow(source: DrrNetworks, tau: number): void {
    const mine = this.variables();
    const theirs = source.variables();
    tf.tidy(() => {
      mine.forEach((v, k) => {
        const s = theirs[k]!;
        v.assign(tau === 1 ? s : tf.add(tf.mul(s, tau), tf.mul(v, 1 - tau)));
      });
    });
  }

  dispose(): void {
    this.sm.dispose();
    this.actor.dispose();
    this.critic.dispose();
    this.interaction.dispose();
  }
}

/** x / |x| row by row (ε keeps a zero row finite). */
export function normalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-8))));
}

export interface UpdateBatch {
  users: tf.Tensor2D;
  states: tf.Tensor2D;
  actions: tf.Tensor2D;
  nextStates: tf.Tensor2D;
  rewards: Float32Array;
  dones: Float32Array;
  weights: Float32Array;
}

export interface UpdateResult {
  criticLoss: number;
  actorLoss: number;
  /** TD errors of the batch, for the replay priorities */
  tdErrors: Float32Array;
}

/** One DDPG update: critic on importance-weighted TD error, then actor on −Q(s, μ(s)), then soft target updates. */
export function ddpgUpdate(
  online: DrrNetworks,
  target: DrrNetworks,
  criticOpt: DenseAdam,
  actorOpt: DenseAdam,
  batch: UpdateBatch,
  gamma: number,
  tau: number,
  updateActor = true,
  priorWeight = 0,
): UpdateResult {
  const b = batch.rewards.length;
  const y = new Float32Array(b);
  // The bootstrap value is the smaller of the target and the online critic at the target actor's
  // action (the DRR re-implementation's double-Q guard): DDPG's critic overestimates, and the actor
  // then climbs the overestimate (measured: reward fell after ~400 steps on ML-1M without it).
  const nextQ = tf.tidy(() => {
    const s = target.sm.apply(batch.users, batch.nextStates);
    const a = target.policy(batch.users, batch.nextStates, s);
    return tf.minimum(target.criticOf(s, a), online.q(batch.users, batch.nextStates, a)).dataSync() as Float32Array;
  });
  for (let j = 0; j < b; j++) y[j] = batch.rewards[j]! + gamma * (1 - batch.dones[j]!) * nextQ[j]!;
  const yT = tf.tensor2d(y, [b, 1]);
  const wT = tf.tensor2d(batch.weights, [b, 1]);
  const tdErrors = new Float32Array(b);
  try {
    const critic = gradientStep({
      inputs: [],
      variables: [...online.criticVariables(), ...online.sm.variables()],
      optimizer: criticOpt,
      loss: () => {
        const q = online.q(batch.users, batch.states, batch.actions);
        const td = tf.sub(q, yT);
        // the TD errors leave the tape as plain numbers for the priorities
        tdErrors.set(td.dataSync() as Float32Array);
        return tf.mean(tf.mul(wT, tf.square(td))) as tf.Scalar;
      },
    });
    // The state module learns from the critic's TD loss only: letting the actor's objective move it
    // too lets the actor reshape the critic's input to inflate Q (the usual shared-encoder failure;
    // SAC-AE and DrQ detach it for the actor for the same reason).
    const actorLoss = updateActor
      ? gradientStep({
          inputs: [],
          variables: online.actor.variables(),
          optimizer: actorOpt,
          // With the skip connection the MLP's output is a correction to the MF direction; its
          // squared size is penalised (as TD3+BC keeps the actor near its data) so that Adam's
          // normalised steps cannot run away on a weak, consistent critic gradient — measured on
          // ML-1M, without it the policy left the MF start and fell to P@10 ≈ 0.05.
          loss: () => {
            const q = tf.neg(tf.mean(online.qOfPolicy(batch.users, batch.states)));
            if (priorWeight === 0) return q as tf.Scalar;
            const s = online.sm.apply(batch.users, batch.states);
            return tf.add(q, tf.mul(priorWeight, tf.mean(tf.sum(tf.square(online.correction(s)), 1)))) as tf.Scalar;
          },
        }).loss
      : Number.NaN;
    target.follow(online, tau);
    return { criticLoss: critic.loss, actorLoss, tdErrors };
  } finally {
    yT.dispose();
    wT.dispose();
  }
}
