import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { NoteCatalogue } from '../../src/core/catalogue.js';
import { SemanticIndex } from '../../src/core/embeddings.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Each text's vector is written in it: "1 0 -2 0 3" is (1, 0, -2, 0, 3). */
const provider = { model: 'written', embed: async (texts: string[]) => texts.map((t) => Float32Array.from(t.split(' '), Number)) };

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((sum, x, i) => sum + x * b[i], 0);
  return dot / Math.hypot(...a) / Math.hypot(...b);
}

describe('SemanticIndex', () => {
  it('ranks notes by cosine similarity in every dimension, also when their number is not a multiple of four', async () => {
    const written: Record<string, number[]> = { 'a.md': [1, 0, 0, 0, 0], 'b.md': [0, 0, 0, 0, 1], 'c.md': [1, 1, 1, 1, -1], 'd.md': [-1, 2, 0.5, 0, 3] };
    const catalogue = new NoteCatalogue();
    for (const path of Object.keys(written)) catalogue.put({ bot: 'dev', path, title: '', tags: [], type: '', visibility: 'private', created: '', updated: '', mtimeMs: 1, size: 1 });
    const index = new SemanticIndex(provider, dir, catalogue, async (_bot, path) => written[path].join(' '));
    await index.resume('dev');
    while (index.progress().pending > 0) await new Promise((r) => setTimeout(r, 10));
    await index.close();

    const query = [0.5, 0, 0, 0, 2];
    const hits = await index.search(query.join(' '), ['dev'], () => true, 10);
    const expected = Object.entries(written)
      .map(([path, v]) => ({ path, similarity: cosine(query, v) }))
      .sort((a, b) => b.similarity - a.similarity);
    expect(hits.map((h) => h.path)).toEqual(expected.map((e) => e.path));
    hits.forEach((h, i) => expect(h.similarity).toBeCloseTo(expected[i].similarity, 2));
  });
});
