import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { toyEmbedding } from './bench/toy-embedding.js';

/** An OpenAI-compatible `/v1/embeddings` endpoint on loopback answering with the toy embedding; counts the texts it embedded. */
export async function startEmbeddingServer(): Promise<{ url: string; texts: string[]; failing: boolean; close(): Promise<void> }> {
  const state = { texts: [] as string[], failing: false };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; input: string[] };
    if (state.failing || req.url !== '/v1/embeddings' || req.headers.authorization !== 'Bearer test-key') {
      res.writeHead(state.failing ? 503 : 401).end('no');
      return;
    }
    state.texts.push(...body.input);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', model: body.model, data: body.input.map((text, index) => ({ object: 'embedding', index, embedding: [...toyEmbedding(text)] })) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
