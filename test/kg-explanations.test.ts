/**
 * Knowledge-graph explanations end to end: a real model trained on a catalogue with artists and
 * tags → a bundle with its `kg` section → core (KG candidates + explanations) → the server's
 * /v1/recommend, through app.request(). Plus the loader's refusals of a corrupt kg file.
 */
import { mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleError, createPolicy, createRecommender, loadBundle, directorySource, MAX_KG_FILE_BYTES } from '@tastemaker/core';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRecommender } from '../packages/server/src/recommendation-source.js';
import { createTestApp, keys, PUBLISHABLE } from '../packages/server/src/testing/test-app.js';
import { runCli } from './run-cli.js';
import { IdMap, type Dataset } from '../packages/trainer/src/data/dataset.js';
import { readDataset } from '../packages/trainer/src/data/index.js';
import { dataPath } from '../packages/trainer/src/data/paths.js';
import { writeModelBundle } from '../packages/trainer/src/export/index.js';
import { fitModel } from '../packages/trainer/src/models/index.js';
import { positivesTrainSet } from '../packages/trainer/src/models/train-set.js';

const ARTISTS = ['Aurora Lane', 'Basalt', 'Cinder Choir', 'Dune Radio', 'Ember & Ash', 'Fjord', 'Glass Harbour', 'Hollow Pines'];
const SONGS_PER_ARTIST = 6;
/** Artists 2s and 2s+1 share scene s, and the scene's two tags. */
const SCENE_TAGS = [
  ['shoegaze', 'dream pop'],
  ['post-rock', 'instrumental'],
  ['synthwave', 'retro'],
  ['folk', 'acoustic'],
];
const TAGS = SCENE_TAGS.flat();

/** Songs song-<artist>-<k>; each song carries its artist and one or both of its scene's tags. */
function catalogue(): Dataset {
  const ids: string[] = [];
  const titles: string[] = [];
  const names = [...ARTISTS.map((a) => `artist:${a}`), ...TAGS.map((t) => `tag:${t}`)];
  const values: number[] = [];
  ARTISTS.forEach((artist, a) => {
    const scene = Math.floor(a / 2);
    for (let k = 0; k < SONGS_PER_ARTIST; k++) {
      ids.push(`song-${a}-${k}`);
      titles.push(`${artist} – Track ${k + 1}`);
      const row = new Array<number>(names.length).fill(0);
      row[a] = 1;
      row[ARTISTS.length + 2 * scene + (k % 2)] = 1;
      if (k % 3 === 0) row[ARTISTS.length + 2 * scene + ((k + 1) % 2)] = 1;
      values.push(...row);
    }
  });
  // 48 listeners, 12 per scene, each playing 7 of the scene's 12 songs
  const users: string[] = [];
  const user: number[] = [];
  const item: number[] = [];
  for (let u = 0; u < 48; u++) {
    users.push(`listener-${u}`);
    const scene = u % 4;
    for (let j = 0; j < 7; j++) {
      const song = 2 * scene * SONGS_PER_ARTIST + ((u * 5 + j * 3) % (2 * SONGS_PER_ARTIST));
      user.push(u);
      item.push(song);
    }
  }
  return {
    name: 'kg-songs',
    users: IdMap.from(users),
    items: IdMap.from(ids),
    interactions: { user: Int32Array.from(user), item: Int32Array.from(item), value: new Float32Array(user.length).fill(1), timestamp: new Float64Array(user.length).fill(Number.NaN) },
    itemTitles: titles,
    itemFeatures: { names, values: Float32Array.from(values) },
  };
}

const dataset = catalogue();
/** The features of an item as "relation:value" strings, the ground truth an explanation must match. */
function featuresOf(itemId: string): Set<string> {
  const row = dataset.items.get(itemId) as number;
  const width = dataset.itemFeatures!.names.length;
  const out = new Set<string>();
  dataset.itemFeatures!.names.forEach((name, c) => {
    if (dataset.itemFeatures!.values[row * width + c] !== 0) out.add(name);
  });
  return out;
}

let root: string;
let bundleDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'tm-kg-explanations-'));
  bundleDir = join(root, 'item-knn-kg');
  const train = positivesTrainSet(dataset);
  const model = await fitModel('item-knn', train, { seed: 7 });
  try {
    await writeModelBundle(bundleDir, model, train, { kg: true });
  } finally {
    model.dispose();
  }
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Explained = { itemId: string; score: number; explanation?: { text: string; relation: string; entity: string; viaItem: string } };

describe('explanations through the server', () => {
  it('writes the kg section with the bundle', async () => {
    const manifest = JSON.parse(await readFile(join(bundleDir, 'manifest.json'), 'utf8')) as { kg?: Record<string, unknown>; files: Record<string, unknown> };
    expect(manifest.kg).toEqual({ file: 'kg.json', relations: 2, entities: ARTISTS.length + TAGS.length, edges: expect.any(Number), source: 'item-metadata' });
    expect(manifest.files['kg.json']).toBeDefined();
  });

  it('answers /v1/recommend with explanations that name a history item and an entity both items really share', async () => {
    const bundle = await loadBundle(directorySource(bundleDir));
    const recommender = await createRecommender({ bundle: bundleDir, device: 'cpu', index: 'exact', kg: { candidates: { maxCandidates: 30 } } });
    const { app, call } = createTestApp({
      recommender: fromRecommender(recommender, bundle),
      keys,
      policies: { greedy: createPolicy({ kind: 'greedy' }), random: createPolicy({ kind: 'random' }) },
    });
    try {
      // A new listener (not in the training data) plays two Basalt songs and one of Aurora Lane's.
      const history = ['song-1-0', 'song-1-3', 'song-0-2'];
      const sent = await call('POST', '/v1/events', {
        events: history.map((itemId, i) => ({ eventId: `e${i}`, type: 'click', userId: 'newcomer', itemId, timestamp: new Date(1_700_000_000_000 + i * 1000).toISOString() })),
      });
      expect(await sent.json()).toMatchObject({ accepted: 3, rejected: [] });

      const res = await app.request('/v1/recommend', {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISHABLE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'newcomer', k: 6 }),
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { items: Explained[] };
      expect(body.items).toHaveLength(6);
      const explained = body.items.filter((i) => i.explanation !== undefined);
      // every recommended song of the shoegaze scene shares at least a tag with the history
      expect(explained.length).toBeGreaterThanOrEqual(3);
      for (const item of explained) {
        const e = item.explanation!;
        expect(history).toContain(e.viaItem);
        expect(history).not.toContain(item.itemId);
        // the named entity is a real attribute of both the recommended item and the history item
        const shared = `${e.relation}:${e.entity}`;
        expect(featuresOf(item.itemId)).toContain(shared);
        expect(featuresOf(e.viaItem)).toContain(shared);
        const via = dataset.itemTitles![dataset.items.get(e.viaItem) as number] as string;
        expect(e.text).toBe(e.relation === 'artist' ? `same artist as ${via}` : `shares tag ${e.entity} with ${via}`);
      }
      // the best reason for another Basalt song is its artist
      const basalt = body.items.find((i) => i.itemId.startsWith('song-1-'));
      expect(basalt?.explanation).toMatchObject({ relation: 'artist', entity: 'Basalt' });
      // an item outside the listener's scene shares nothing and carries no explanation
      for (const item of body.items) {
        const scene = Math.floor(Number(item.itemId.split('-')[1]) / 2);
        if (scene !== 0) expect(item.explanation).toBeUndefined();
      }

      // a policy that reorders the pool keeps each item's own explanation
      const direct = await recommender.recommend({ history, k: dataset.items.size });
      const expected = new Map(direct.items.map((i) => [i.itemId, i.explanation]));
      const shuffled = await app.request('/v1/recommend', {
        method: 'POST',
        headers: { authorization: `Bearer ${PUBLISHABLE}`, 'content-type': 'application/json' },
        body: JSON.stringify({ userId: 'newcomer', k: 6, policy: 'random' }),
      });
      for (const item of ((await shuffled.json()) as { items: Explained[] }).items) expect(item.explanation).toEqual(expected.get(item.itemId));

      // the query-string form carries them too, and the OpenAPI document declares the field
      const viaGet = await app.request(`/v1/recommend?userId=newcomer&k=3`, { headers: { authorization: `Bearer ${PUBLISHABLE}` } });
      const got = (await viaGet.json()) as { items: Explained[] };
      expect(got.items.some((i) => i.explanation !== undefined)).toBe(true);
      const doc = JSON.stringify(await (await app.request('/openapi.json')).json());
      expect(doc).toContain('viaItem');
    } finally {
      await recommender.dispose();
    }
  });

  it('explains by shared tags when the artist relation is weighted out', async () => {
    const recommender = await createRecommender({ bundle: bundleDir, device: 'cpu', index: 'exact', kg: { relationWeights: { artist: 0 } } });
    try {
      const res = await recommender.recommend({ history: ['song-1-0', 'song-1-3', 'song-0-2'], k: 6 });
      const explained = res.items.filter((i) => i.explanation !== undefined);
      expect(explained.length).toBeGreaterThan(0);
      for (const item of explained) {
        const e = item.explanation!;
        expect(e.relation).toBe('tag');
        expect(SCENE_TAGS[0]).toContain(e.entity);
        expect(featuresOf(item.itemId)).toContain(`tag:${e.entity}`);
        expect(featuresOf(e.viaItem)).toContain(`tag:${e.entity}`);
        expect(e.text).toMatch(new RegExp(`^shares tag ${e.entity} with .+ – Track \\d$`));
      }
    } finally {
      await recommender.dispose();
    }
  });

  it('serves bundles without a kg section unchanged: no explanation field', async () => {
    const plainDir = join(root, 'bpr-plain');
    const train = positivesTrainSet(dataset);
    const model = await fitModel('bpr', train, { seed: 7, epochs: 2, dim: 4 });
    try {
      await writeModelBundle(plainDir, model, train);
    } finally {
      model.dispose();
    }
    const manifest = JSON.parse(await readFile(join(plainDir, 'manifest.json'), 'utf8')) as { kg?: unknown };
    expect(manifest.kg).toBeUndefined();
    const recommender = await createRecommender({ bundle: plainDir, device: 'cpu', index: 'exact' });
    try {
      const res = await recommender.recommend({ history: ['song-1-0'], k: 5 });
      expect(res.items.every((i) => !('explanation' in i))).toBe(true);
    } finally {
      await recommender.dispose();
    }
  });
});

describe('tastemaker train --kg on MovieLens-100K', () => {

  it('builds the genre / year graph from the movie metadata and recommend shows the paths', async () => {
    const data = dataPath('ml-100k');
    const out = join(root, 'ml100k-kg');
    expect((await runCli(['train', '--data', data, '--format', 'movielens-100k', '--model', 'item-knn', '--kg', '--out', out, '--quiet'])).code).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { kg: { relations: number; source: string } };
    expect(manifest.kg).toMatchObject({ relations: 2, source: 'item-metadata' });
    // Toy Story, Star Wars, Return of the Jedi
    const history = ['1', '50', '181'];
    const rec = await runCli(['recommend', '--bundle', out, '--history', history.join(','), '--k', '10', '--device', 'cpu', '--json']);
    expect(rec.code).toBe(0);
    const items = (JSON.parse(rec.stdout) as { items: Explained[] }).items;
    const movies = await readDataset('movielens-100k', data);
    const attributes = (id: string): Set<string> => {
      const row = movies.items.get(id) as number;
      const f = movies.itemFeatures!;
      const set = new Set(f.names.filter((_, c) => f.values[row * f.names.length + c] !== 0));
      const year = /\((\d{4})\)\s*$/.exec(movies.itemTitles![row] as string)?.[1];
      if (year) set.add(`year:${year}`);
      return set;
    };
    const explained = items.filter((i) => i.explanation);
    expect(explained.length).toBeGreaterThan(0);
    for (const item of explained) {
      const e = item.explanation!;
      expect(history).toContain(e.viaItem);
      expect(attributes(item.itemId)).toContain(`${e.relation}:${e.entity}`);
      expect(attributes(e.viaItem)).toContain(`${e.relation}:${e.entity}`);
    }
    for (const item of items.filter((i) => !i.explanation)) {
      const shared = [...attributes(item.itemId)].filter((a) => history.some((h) => attributes(h).has(a)));
      expect(shared).toEqual([]);
    }
  }, 60_000);
});

describe('loading a corrupt kg file', () => {
  /** A copy of the bundle with kg.json replaced and the manifest re-sealed for it (or edited). */
  type ManifestJson = { files: Record<string, { sha256: string; bytes: number }> };
  async function corrupt(name: string, kgJson: (doc: Record<string, unknown>) => unknown, editManifest?: (m: ManifestJson) => void): Promise<string> {
    const dir = join(root, name);
    await cp(bundleDir, dir, { recursive: true });
    const doc = JSON.parse(await readFile(join(dir, 'kg.json'), 'utf8')) as Record<string, unknown>;
    const bytes = Buffer.from(JSON.stringify(kgJson(doc)));
    await writeFile(join(dir, 'kg.json'), bytes);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ManifestJson;
    manifest.files['kg.json'] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.byteLength };
    editManifest?.(manifest);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    return dir;
  }
  async function refusal(dir: string): Promise<BundleError> {
    try {
      await createRecommender({ bundle: dir, device: 'cpu', index: 'exact' });
    } catch (e) {
      return e as BundleError;
    }
    throw new Error('the bundle was accepted');
  }

  it('refuses an unknown entity index, naming kg.json', async () => {
    const dir = await corrupt('bad-entity', (doc) => {
      const items = doc.items as { entities: number[] };
      items.entities[0] = 10_000;
      return doc;
    });
    const e = await refusal(dir);
    expect(e).toBeInstanceOf(BundleError);
    expect(e.code).toBe('BUNDLE_INVALID');
    expect(e.file).toBe('kg.json');
    expect(e.message).toBe(`kg.json: items.entities[0] = 10000 is not an index in [0, ${ARTISTS.length + TAGS.length})`);
  });

  it('refuses edges that disagree with the manifest and an oversized file before reading it', async () => {
    const short = await refusal(await corrupt('short', (doc) => ({ ...doc, relations: ['artist'] })));
    expect(short.message).toBe('kg.json: relations holds 1 names but the manifest declares 2');
    const huge = await refusal(
      await corrupt('huge', (doc) => doc, (m) => {
        m.files['kg.json'] = { ...(m.files['kg.json'] as { sha256: string; bytes: number }), bytes: MAX_KG_FILE_BYTES + 1 };
      }),
    );
    expect(huge.file).toBe('kg.json');
    expect(huge.message).toMatch(/declares \d+ bytes, more than the \d+ a knowledge graph file may hold/);
    const unlisted = await refusal(
      await corrupt('unlisted', (doc) => doc, (m) => {
        delete m.files['kg.json'];
      }),
    );
    expect(unlisted.message).toBe('kg.json: referenced by manifest.json kg.file but not listed in files, so it cannot be verified');
    const notJson = await refusal(await corrupt('not-json', () => 'x'));
    expect(notJson.message).toMatch(/^kg\.json: (must be a JSON object|format must be)/);
  });
});
