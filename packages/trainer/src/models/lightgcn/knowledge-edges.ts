import { TastemakerError } from '@tastemaker/core';
import type { KnowledgeGraph } from '../../data/dataset.js';
import { validateKnowledgeGraph } from '../../kg/adjacency.js';

/**
 * The knowledge part of a collaborative knowledge graph (KGAT, Wang et al. KDD 2019): the graph
 * LightGCN propagates over when `knowledge=graph`, with users, items and the KG's other entities as
 * nodes.
 *
 * Node layout: users 0…nUsers−1, items nUsers…nUsers+nItems−1 (as in the plain graph, so user and
 * item rows of the embeddings keep their places), then one node per entity that is not an item.
 * An entity that stands for exactly one item IS that item's node (KGAT's item–entity alignment), so
 * an item's KG neighbours are one hop from it, like its users. An entity several items map to stays
 * its own node and each of those items gets an edge to it.
 *
 * Edges are undirected and unweighted, as LightGCN's adjacency: relation ids are dropped (LightGCN
 * has no per-edge transform to use them), parallel triples between the same two nodes count once,
 * and self-loops (a triple from an entity to itself) are left out.
 */
export interface KnowledgeEdges {
  /** entity nodes that are not items, appended after the items */
  entityNodes: number;
  /** node of every KG entity */
  entityNode: Int32Array;
  /** endpoints of each undirected edge, a[k] – b[k] */
  a: Int32Array;
  b: Int32Array;
}

export function knowledgeEdges(kg: KnowledgeGraph, nUsers: number, nItems: number): KnowledgeEdges {
  validateKnowledgeGraph(kg);
  if (kg.itemEntity.length !== nItems) {
    throw new TastemakerError('INVALID_ARGUMENT', `lightgcn: the knowledge graph maps ${kg.itemEntity.length} items but the data set has ${nItems}`, {
      kgItems: kg.itemEntity.length,
      items: nItems,
    });
  }
  const nE = kg.entityCount;
  const claims = new Int32Array(nE);
  for (let i = 0; i < nItems; i++) claims[kg.itemEntity[i]!]!++;
  const entityNode = new Int32Array(nE).fill(-1);
  for (let i = 0; i < nItems; i++) {
    const e = kg.itemEntity[i]!;
    if (claims[e] === 1) entityNode[e] = nUsers + i;
  }
  let next = nUsers + nItems;
  for (let e = 0; e < nE; e++) if (entityNode[e] === -1) entityNode[e] = next++;
  const N = next;

  const a: number[] = [];
  const b: number[] = [];
  const seen = new Set<number>();
  // N < 2^26 for any graph that fits in memory here, so N·N stays an exact double
  const add = (x: number, y: number): void => {
    if (x === y) return;
    const lo = Math.min(x, y);
    const hi = Math.max(x, y);
    const key = lo * N + hi;
    if (seen.has(key)) return;
    seen.add(key);
    a.push(lo);
    b.push(hi);
  };
  for (let i = 0; i < nItems; i++) {
    const e = kg.itemEntity[i]!;
    if (claims[e]! > 1) add(nUsers + i, entityNode[e]!);
  }
  for (let t = 0; t < kg.heads.length; t++) add(entityNode[kg.heads[t]!]!, entityNode[kg.tails[t]!]!);
  return { entityNodes: N - nUsers - nItems, entityNode, a: Int32Array.from(a), b: Int32Array.from(b) };
}
