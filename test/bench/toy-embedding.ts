// A deterministic local "embedding" for tests and benchmarks, no model and no network: a bag of the
// text's word stems (each word's first five letters, stop words left out, counts dampened by a
// logarithm) hashed into 2048 dimensions. Texts that share stems come out near each other, whatever
// the words' endings ("configure", "configuring"); it knows nothing of meaning, synonyms or other
// languages. It stands in for a real model to test the machinery and measure its costs. (Chosen
// on the tuning half of the quality benchmark among a few such functions.)
import { fold, STOP_WORDS } from '../../src/core/search/tokenizer.js';

export const TOY_DIMENSIONS = 2048;

export function toyEmbedding(text: string): Float32Array {
  const counts = new Map<string, number>();
  for (const word of fold(text).match(/\p{L}{3,}/gu) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    const stem = word.slice(0, 5);
    counts.set(stem, (counts.get(stem) ?? 0) + 1);
  }
  const vector = new Float32Array(TOY_DIMENSIONS);
  for (const [stem, count] of counts) {
    const hash = fnv1a(stem);
    vector[hash % TOY_DIMENSIONS] += (hash & 0x10000 ? 1 : -1) * (1 + Math.log(count));
  }
  return vector;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
