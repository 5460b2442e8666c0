import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIEmbeddings } from '../../src/embeddings/openai.js';
import { CLI_PATH } from '../../src/package.js';
import { startEmbeddingServer } from '../embedding-server.js';
import { call, callError, eventually, git, httpClient, OPERATOR_TOKEN, startDaemonProcess, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

let server: Awaited<ReturnType<typeof startEmbeddingServer>>;
let daemon: TestDaemon;
let dev: Client;
let research: Client;
const home = tempDir();
const provider = () => new OpenAIEmbeddings(server.url, 'toy', 'test-key');

beforeAll(async () => {
  server = await startEmbeddingServer();
  daemon = await startTestDaemon({ home, embeddings: provider() });
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  research = await httpClient(daemon.url, daemon.tokens.research);
});

afterAll(async () => {
  await Promise.all([dev, research].map((c) => c?.close()));
  await daemon?.destroy();
  await server?.close();
});

const embedded = () => daemon.roost.memory.semantic!.progress();
const paths = (r: any) => r.results.map((h: any) => `${h.bot}/${h.path}`);

describe('semantic and hybrid search through MCP', () => {
  it('fills vectors in the background, finds notes by near words, fuses with lexical ranks, and keeps the access rules', async () => {
    await call(dev, 'write_note', { path: 'deploy.md', body: 'Upgrading the kubernetes clusters happens on fridays.', visibility: 'shared' });
    await call(dev, 'write_note', { path: 'secret.md', body: 'Upgrading the kubernetes clusters secretly.', visibility: 'private' });
    await call(dev, 'write_note', { path: 'lunch.md', body: 'The canteen serves soup at noon.', visibility: 'shared' });
    await eventually(() => embedded().embedded === 3 && embedded().pending === 0);
    const notes = () => server.texts.filter((t) => t.includes('\n\n'));
    expect(notes()).toHaveLength(3);

    // No word of the query is in the note as written: "cluster upgrade" vs "Upgrading … clusters".
    const exact = await call(dev, 'search_memory', { query: 'cluster upgrade', mode: 'lexical', prefix: false, fuzzy: false });
    expect(exact.total).toBe(0);
    const semantic = await call(dev, 'search_memory', { query: 'cluster upgrade', mode: 'semantic' });
    expect(semantic.mode).toBe('semantic');
    expect(paths(semantic).slice(0, 2).sort()).toEqual(['dev/deploy.md', 'dev/secret.md']);
    expect(semantic.results[0].relevance).toBeGreaterThan(0.3);
    const hybrid = await call(dev, 'search_memory', { query: 'cluster upgrade fridays' });
    expect(hybrid.mode).toBe('hybrid');
    expect(paths(hybrid)[0]).toBe('dev/deploy.md');
    expect(hybrid.results[0].relevance).toBe(1);
    expect(hybrid.results[0].matched).toContainEqual({ query: 'fridays', term: 'fridays', match: 'exact' });

    // Another bot sees only shared notes, in every mode.
    for (const mode of ['semantic', 'hybrid'] as const) {
      const theirs = await call(research, 'search_memory', { query: 'cluster upgrade', scope: 'shared', mode });
      expect(paths(theirs)).not.toContain('dev/secret.md');
      expect(paths(theirs)).toContain('dev/deploy.md');
      expect(await callError(research, 'search_memory', { query: 'cluster upgrade', scope: 'all', mode })).toMatch(/main bot and the operator/);
    }

    // The same content is not embedded again; changed content is, without the write waiting for it.
    await call(dev, 'write_note', { path: 'lunch.md', body: 'The canteen serves soup at noon.', visibility: 'shared' });
    await call(dev, 'write_note', { path: 'deploy.md', body: 'Upgrading the kubernetes clusters happens on mondays.', visibility: 'shared' });
    await eventually(() => notes().length === 4 && embedded().pending === 0);
    expect(notes()[3]).toMatch(/^deploy\n\nUpgrading .* mondays/);
    expect(git(home, 'status', '--porcelain', '--ignored')).not.toMatch(/vectors/);
    expect(git(home, 'ls-files')).not.toMatch(/\.roost/);
  });

  it('answers hybrid searches lexically while the endpoint fails, and says so for semantic ones', async () => {
    server.failing = true;
    try {
      const hybrid = await call(dev, 'search_memory', { query: 'canteen' });
      expect(hybrid).toMatchObject({ mode: 'lexical', total: 1 });
      expect(await callError(dev, 'search_memory', { query: 'canteen', mode: 'semantic' })).toMatch(/Semantic search failed.*lexical/);
    } finally {
      server.failing = false;
    }
  });

  it('resumes after a restart from the saved vectors, embedding only notes changed meanwhile', async () => {
    await daemon.stop();
    const before = server.texts.length;
    writeFileSync(path.join(home, 'bots/dev/by-hand.md'), 'Quarterly budget review written by hand.\n');
    daemon = await startTestDaemon({ home, embeddings: provider() });
    dev = await httpClient(daemon.url, daemon.tokens.dev);
    await call(dev, 'search_memory', { query: 'budget', mode: 'lexical' });
    await eventually(() => embedded().embedded === 4 && embedded().pending === 0).catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify(embedded())}, ${server.texts.length - before} texts`);
    });
    expect(server.texts.slice(before)).toEqual(['by-hand\n\nQuarterly budget review written by hand.\n']);
    expect(paths(await call(dev, 'search_memory', { query: 'budgets reviews', mode: 'semantic' }))[0]).toBe('dev/by-hand.md');
    expect(readdirSync(path.join(home, '.roost', 'vectors')).sort()).toEqual(['dev.json', 'progress.json']);
  });
});

it('refuses semantic search without a provider, with a way out', async () => {
  const plain = await startTestDaemon();
  try {
    const client = await httpClient(plain.url, plain.tokens.dev);
    expect(await callError(client, 'search_memory', { query: 'x', mode: 'semantic' })).toMatch(/needs an embedding provider.*mode "lexical"/);
    expect((await call(client, 'search_memory', { query: 'x' })).mode).toBe('lexical');
    await client.close();
  } finally {
    await plain.destroy();
  }
});

it('roost serve takes the endpoint from flags and the key from the environment; roost status shows the progress', async () => {
  const server = await startEmbeddingServer();
  const root = tempDir();
  mkdirSync(path.join(root, 'bots', 'dev'), { recursive: true });
  writeFileSync(path.join(root, 'bots', 'dev', 'a.md'), 'Alpha note.\n');
  writeFileSync(path.join(root, 'bots', 'dev', 'b.md'), 'Beta note.\n');
  const process = await startDaemonProcess(root, { ROOST_EMBEDDINGS_KEY: 'test-key' }, ['--embeddings-url', server.url, '--embeddings-model', 'toy']);
  try {
    const main = await httpClient(process.url, OPERATOR_TOKEN);
    await call(main, 'search_memory', { query: 'alpha', scope: 'all', mode: 'lexical' });
    await main.close();
    const status = await eventually(() => {
      const out = execFileSync(globalThis.process.execPath, [CLI_PATH, 'status', '--home', root], { encoding: 'utf8' });
      return /embeddings \(toy\): 2 notes embedded, 0 pending/.test(out) ? out : null;
    });
    expect(status).toMatch(/^running: pid/);
    expect(JSON.parse(readFileSync(path.join(root, '.roost', 'vectors', 'progress.json'), 'utf8'))).toMatchObject({ model: 'toy', embedded: 2 });
  } finally {
    await process.stop();
    await server.close();
  }
});
