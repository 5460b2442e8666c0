import type { EmbeddingProvider } from '../core/embeddings.js';

/** How long one request may take: a stalled endpoint must not hold the background work or a search. */
const TIMEOUT_MS = 30_000;

/**
 * An OpenAI-compatible `/v1/embeddings` endpoint: OpenAI, Ollama, llama.cpp's server, vLLM, LocalAI…
 * `url` is the API's base, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
 */
export class OpenAIEmbeddings implements EmbeddingProvider {
  constructor(
    private readonly url: string,
    readonly model: string,
    private readonly key?: string,
  ) {}

  async embed(texts: string[]): Promise<Float32Array[]> {
    const response = await fetch(`${this.url.replace(/\/+$/, '')}/embeddings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.key ? { authorization: `Bearer ${this.key}` } : {}) },
      body: JSON.stringify({ model: this.model, input: texts }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`embeddings endpoint answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
    const body = (await response.json()) as { data?: Array<{ index?: number; embedding?: unknown }> };
    const data = body.data ?? [];
    if (data.length !== texts.length) throw new Error(`embeddings endpoint returned ${data.length} vectors for ${texts.length} texts`);
    const vectors = [...data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((d) => d.embedding);
    if (!vectors.every((v) => Array.isArray(v) && v.length > 0 && v.length === (vectors[0] as unknown[]).length && v.every((x) => typeof x === 'number'))) {
      throw new Error('embeddings endpoint returned vectors that are not lists of numbers of one length');
    }
    return vectors.map((v) => Float32Array.from(v as number[]));
  }
}
