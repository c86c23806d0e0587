import { TastemakerError } from '../errors/index.js';
import type { ItemKnowledgeGraph } from './item-graph.js';
import { entitySpecificity } from './relation-weights.js';

/** Why an item was recommended: the KG path item –relation→ entity ←– viaItem, and its text. */
export interface KgExplanation {
  /** e.g. "same genre (Drama) as Heat (1995)" */
  text: string;
  /** relation name of the recommended item's edge, e.g. "genre" */
  relation: string;
  /** display name of the shared entity, e.g. "Drama" */
  entity: string;
  /** external id of the history item at the other end of the path */
  viaItem: string;
}

/**
 * Text per relation; `{item}` is the history item's name, `{entity}` the shared entity's,
 * `{relation}` the relation's. Looked up by the full relation name, then by its last dotted
 * segment (Freebase-style names such as `music.artist.origin` → `origin`).
 */
export const DEFAULT_RELATION_TEMPLATES: Readonly<Record<string, string>> = {
  artist: 'same artist as {item}',
  tag: 'shares tag {entity} with {item}',
  genre: 'same genre ({entity}) as {item}',
  year: 'also from {entity}, like {item}',
  director: 'same director ({entity}) as {item}',
  origin: 'same origin ({entity}) as {item}',
  album: 'on the same album ({entity}) as {item}',
  place_of_birth: 'born in {entity}, like {item}',
  instruments_played: 'plays {entity}, like {item}',
};
export const FALLBACK_TEMPLATE = '{relation}: {entity}, like {item}';
const MAX_TEMPLATE_LENGTH = 500;

export interface ExplainContext {
  kg: ItemKnowledgeGraph;
  relationWeights: Float64Array;
  /** external id of each item row (items.json) */
  itemIds: readonly string[];
  /** compiled with compileTemplates */
  templates: CompiledTemplates;
}

export type CompiledTemplates = (relation: number) => string;

/** Resolves one template per relation of the graph; user templates override the defaults by name. */
export function compileTemplates(kg: ItemKnowledgeGraph, overrides: Readonly<Record<string, string>> = {}): CompiledTemplates {
  for (const [name, template] of Object.entries(overrides)) {
    if (typeof template !== 'string' || template.length === 0 || template.length > MAX_TEMPLATE_LENGTH) {
      throw new TastemakerError('INVALID_CONFIG', `Invalid kg template for ${JSON.stringify(name)}: it must be a non-empty string of at most ${MAX_TEMPLATE_LENGTH} characters.`, {
        option: 'kg.templates',
        got: name,
      });
    }
  }
  const table = { ...DEFAULT_RELATION_TEMPLATES, ...overrides };
  const byRelation = kg.relationNames.map((name) => {
    const last = name.slice(name.lastIndexOf('.') + 1);
    return (Object.hasOwn(table, name) ? table[name] : Object.hasOwn(table, last) ? table[last] : undefined) ?? FALLBACK_TEMPLATE;
  });
  return (relation) => byRelation[relation] ?? FALLBACK_TEMPLATE;
}

/**
 * For each target item row, the best path from one of the history items (oldest first): among
 * the target's (relation, entity) edges whose entity a history item also links to, the one with
 * the highest relation weight × entity specificity, the most recent history item breaking ties.
 * A target with no shared entity gets undefined: no path, no explanation.
 */
export function explainItems(context: ExplainContext, history: readonly number[], targets: readonly number[]): (KgExplanation | undefined)[] {
  const { kg } = context;
  // entity → the most recent history item linking to it (later items overwrite earlier ones)
  const via = new Map<number, { item: number; recency: number }>();
  history.forEach((item, recency) => {
    if (item < 0 || item >= kg.itemCount) return;
    for (let s = kg.itemIndptr[item]!; s < kg.itemIndptr[item + 1]!; s++) via.set(kg.itemEntities[s]!, { item, recency });
  });
  return targets.map((target) => {
    if (target < 0 || target >= kg.itemCount || via.size === 0) return undefined;
    let best: { relation: number; entity: number; item: number; strength: number; recency: number } | undefined;
    for (let s = kg.itemIndptr[target]!; s < kg.itemIndptr[target + 1]!; s++) {
      const entity = kg.itemEntities[s]!;
      const from = via.get(entity);
      if (from === undefined || from.item === target) continue;
      const relation = kg.itemRelations[s]!;
      const strength = context.relationWeights[relation]! * entitySpecificity(kg, entity);
      if (strength <= 0) continue;
      if (best === undefined || strength > best.strength || (strength === best.strength && from.recency > best.recency)) {
        best = { relation, entity, item: from.item, strength, recency: from.recency };
      }
    }
    if (best === undefined) return undefined;
    const viaItem = context.itemIds[best.item] ?? String(best.item);
    const relation = kg.relationNames[best.relation] ?? String(best.relation);
    const entity = kg.entityNames[best.entity] ?? String(best.entity);
    const itemName = kg.itemNames?.[best.item] || viaItem;
    return { text: render(context.templates(best.relation), { item: itemName, entity, relation }), relation, entity, viaItem };
  });
}

function render(template: string, values: { item: string; entity: string; relation: string }): string {
  // One pass, so a name that itself contains "{item}" is not substituted again.
  return template.replace(/\{(item|entity|relation)\}/g, (_m, key: 'item' | 'entity' | 'relation') => values[key]);
}
