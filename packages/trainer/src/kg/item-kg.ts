import { TastemakerError } from '@tastemaker/core';
import type { Dataset, KnowledgeGraph } from '../data/dataset.js';

/** A knowledge graph with the names of its entities and relations, for explanations and reports. */
export interface NamedKnowledgeGraph {
  kg: KnowledgeGraph;
  /** by entity index; items are `item:<external id>`, attributes `<relation>:<value>` (e.g. `genre:Drama`) */
  entityNames: string[];
  /** by relation index, e.g. `genre`, `tag`, `year` */
  relationNames: string[];
}

export interface ItemKgOptions {
  /**
   * link items to their release year taken from a trailing "(1995)" in the title; `auto` (default)
   * does so when most titles carry one (MovieLens), not when a few names merely end in a year
   * (Last.fm-2k artists)
   */
  year?: boolean | 'auto';
  /** link items to their multi-hot item features (default true) */
  features?: boolean;
}

const YEAR_IN_TITLE = /\((\d{4})\)\s*$/;

/**
 * A knowledge graph from item metadata, for data sets that come without one: items are entities
 * 0…nItems−1 (so `itemEntity[i] = i`), and every non-zero item feature and every release year adds
 * an attribute entity and a triple (item, relation, attribute).
 *
 * Feature names carry their kind as a prefix, which becomes the relation: MovieLens genres
 * (`genre:Drama` → relation `genre`), Last.fm-2k's top tags (`tag:rock` → relation `tag`). Release
 * years come from MovieLens titles ("Toy Story (1995)"), the only place both MovieLens readers keep
 * them. Last.fm-2k's items are artists, so its graph is artist –tag→ tag.
 */
export function buildItemKg(dataset: Dataset, options: ItemKgOptions = {}): NamedKnowledgeGraph {
  const nItems = dataset.items.size;
  const entityNames = dataset.items.ids.map((id) => `item:${id}`);
  const entityIndex = new Map<string, number>();
  const relationNames: string[] = [];
  const relationIndex = new Map<string, number>();
  const heads: number[] = [];
  const relations: number[] = [];
  const tails: number[] = [];

  const relationOf = (name: string): number => {
    let r = relationIndex.get(name);
    if (r === undefined) {
      r = relationNames.length;
      relationNames.push(name);
      relationIndex.set(name, r);
    }
    return r;
  };
  const entityOf = (name: string): number => {
    let e = entityIndex.get(name);
    if (e === undefined) {
      e = entityNames.length;
      entityNames.push(name);
      entityIndex.set(name, e);
    }
    return e;
  };
  const link = (item: number, relation: string, value: string): void => {
    heads.push(item);
    relations.push(relationOf(relation));
    tails.push(entityOf(`${relation}:${value}`));
  };

  const features = dataset.itemFeatures;
  if (options.features !== false && features) {
    const width = features.names.length;
    if (features.values.length !== nItems * width) {
      throw new TastemakerError('INVALID_ARGUMENT', `item features have ${features.values.length} values, expected ${nItems} items × ${width} features`, {
        dataset: dataset.name,
      });
    }
    const columns = features.names.map((name) => {
      const colon = name.indexOf(':');
      return colon > 0 ? { relation: name.slice(0, colon), value: name.slice(colon + 1) } : { relation: 'feature', value: name };
    });
    for (let i = 0; i < nItems; i++) {
      for (let c = 0; c < width; c++) {
        if (features.values[i * width + c] !== 0) {
          const col = columns[c]!;
          link(i, col.relation, col.value);
        }
      }
    }
  }
  const titles = dataset.itemTitles;
  if (options.year !== false && titles) {
    const years = Array.from({ length: nItems }, (_, i) => YEAR_IN_TITLE.exec(titles[i] ?? '')?.[1]);
    const found = years.filter((y) => y !== undefined).length;
    if (options.year === true || found >= nItems / 2) {
      years.forEach((y, i) => {
        if (y !== undefined) link(i, 'year', y);
      });
    }
  }
  if (heads.length === 0) {
    throw new TastemakerError(
      'INVALID_ARGUMENT',
      `${dataset.name} has no knowledge graph and no item metadata to build one from (item features or titles with a release year).`,
      { dataset: dataset.name },
    );
  }
  const itemEntity = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) itemEntity[i] = i;
  return {
    kg: {
      heads: Int32Array.from(heads),
      relations: Int32Array.from(relations),
      tails: Int32Array.from(tails),
      entityCount: entityNames.length,
      relationCount: relationNames.length,
      itemEntity,
    },
    entityNames,
    relationNames,
  };
}

/** The data set's own knowledge graph (Last.FM KG), or one built from its item metadata. */
export function knowledgeGraphOf(dataset: Dataset): KnowledgeGraph {
  return dataset.kg ?? buildItemKg(dataset).kg;
}
