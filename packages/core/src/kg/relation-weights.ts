import { TastemakerError } from '../errors/index.js';
import type { ItemKnowledgeGraph } from './item-graph.js';

/**
 * Per-relation weights by relation id, from weights given by name (unnamed relations weigh 1). A
 * name the graph does not have is a configuration mistake, so it fails listing the graph's names.
 */
export function relationWeightsOf(kg: ItemKnowledgeGraph, byName: Readonly<Record<string, number>> | undefined): Float64Array {
  const weights = new Float64Array(kg.relationNames.length).fill(1);
  if (byName === undefined) return weights;
  for (const [name, weight] of Object.entries(byName)) {
    const r = kg.relationNames.indexOf(name);
    if (r < 0) {
      throw new TastemakerError(
        'INVALID_CONFIG',
        `Invalid kg relation weight: the bundle's knowledge graph has no relation ${JSON.stringify(name)}. Valid values: ${kg.relationNames.map((n) => JSON.stringify(n)).join(', ')}.`,
        { option: 'kg.relationWeights', got: name, valid: kg.relationNames },
      );
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid kg relation weight for ${JSON.stringify(name)}: ${String(weight)}. It must be a finite number ≥ 0.`, {
        option: 'kg.relationWeights',
        got: weight,
      });
    }
    weights[r] = weight;
  }
  return weights;
}

/**
 * How much sharing an entity says: 1 / log2(1 + items linked to it). Two films by one director
 * say more than two films from 1995; the same damping as IDF, so a catalogue-wide genre cannot
 * drown the specific links.
 */
export function entitySpecificity(kg: ItemKnowledgeGraph, entity: number): number {
  const degree = kg.entityIndptr[entity + 1]! - kg.entityIndptr[entity]!;
  return degree <= 1 ? 1 : 1 / Math.log2(1 + degree);
}
