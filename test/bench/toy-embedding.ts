// A deterministic local "embedding" for tests and benchmarks, no model and no network: each word's
// first five letters and its character trigrams hashed into 1024 dimensions. Texts that share
// words or parts of words (plural and singular, -ing forms, typos) come out near each other; it
// knows nothing of meaning, synonyms or other languages, nor which words are rare. It stands in for a real model to test the machinery and measure its costs.
import { STOP_WORDS, fold } from '../../src/core/search/tokenizer.js';

export const TOY_DIMENSIONS = 1024;

export function toyEmbedding(text: string): Float32Array {
  const vector = new Float32Array(TOY_DIMENSIONS);
  for (const word of fold(text).match(/\p{L}{3,}/gu) ?? []) {
    if (STOP_WORDS.has(word)) continue;
    // The word's first five letters stand for its stem; its trigrams for its spelling.
    const stem = fnv1a(word.slice(0, 5));
    vector[stem % TOY_DIMENSIONS] += stem & 0x10000 ? 2 : -2;
    const padded = ` ${word} `;
    for (let i = 0; i + 3 <= padded.length; i++) {
      const hash = fnv1a(padded.slice(i, i + 3));
      vector[hash % TOY_DIMENSIONS] += hash & 0x10000 ? 0.5 : -0.5;
    }
  }
  return vector;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}
