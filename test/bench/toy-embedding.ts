// A deterministic local "embedding" for tests and benchmarks, no model and no network: each word's
// character trigrams hashed into 256 dimensions. Texts that share words or parts of words (plural
// and singular, -ing forms, typos) come out near each other; it knows nothing of meaning, synonyms
// or other languages. It stands in for a real model to test the machinery and measure its costs.
import { STOP_WORDS, fold } from '../../src/core/search/tokenizer.js';

export const TOY_DIMENSIONS = 256;

export function toyEmbedding(text: string): Float32Array {
  const vector = new Float32Array(TOY_DIMENSIONS);
  for (const word of fold(text).match(/\p{L}{3,}/gu) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) {
      const hash = fnv1a(padded.slice(i, i + 3));
      vector[hash % TOY_DIMENSIONS] += hash & 0x10000 ? 1 : -1;
    }
  }
  return vector;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
