// The naive design Roost is measured against: one MiniSearch over every bot's notes, rebuilt from
// the files at every start, served over the same MCP transport. Only the benchmark starts this file.
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import MiniSearch from 'minisearch';
import { z } from 'zod';
import { parseNote, titleOf } from '../../src/core/notes.js';
import { snippet } from '../../src/core/search/snippet.js';
import { Vault } from '../../src/core/vault.js';
import { McpSession } from '../../src/http/mcp-session.js';

interface Doc {
  id: string;
  bot: string;
  title: string;
  body: string;
}

const home = process.argv[2];
const vault = new Vault(home);
// Durable writes as Roost's: the index design is what differs.
await vault.open(path.join(home, '.roost', 'naive-writes'));
const index = new MiniSearch<Doc>({
  fields: ['title', 'id', 'body'],
  storeFields: ['bot', 'title'],
  searchOptions: { boost: { title: 3, id: 1.5, body: 1 }, prefix: (t) => t.length >= 3, fuzzy: 0.2, maxFuzzy: 1 },
});

function docOf(bot: string, path: string, text: string): Doc {
  const { frontmatter, body } = parseNote(text);
  return { id: `${bot}/${path}`, bot, title: titleOf(frontmatter, body, path), body };
}

for (const bot of await bots()) {
  for (const file of await vault.walk(`bots/${bot}`, (name) => name.endsWith('.md'))) {
    index.add(docOf(bot, file.path, (await vault.read(`bots/${bot}/${file.path}`))!));
  }
}

async function bots(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir(vault.abs('bots'))).sort();
}

function server(): McpServer {
  const mcp = new McpServer({ name: 'naive', version: '1.0.0' });
  mcp.registerTool(
    'search_memory',
    { inputSchema: { query: z.string(), bot: z.string().optional() } },
    async ({ query, bot }) => {
      const hits = index.search(query, bot ? { filter: (r) => r.bot === bot } : {});
      // The same answer as Roost's: each hit with a snippet read from its file.
      const page = await Promise.all(
        hits.slice(0, 10).map(async (h) => {
          const text = (await vault.read(`bots/${h.id}`)) ?? '';
          return { id: h.id, title: h.title, score: h.score, snippet: snippet(parseNote(text).body, h.terms) };
        }),
      );
      return { content: [{ type: 'text', text: JSON.stringify({ total: hits.length, results: page }) }] };
    },
  );
  mcp.registerTool('write_note', { inputSchema: { bot: z.string(), path: z.string(), body: z.string() } }, async ({ bot, path, body }) => {
    await vault.write(`bots/${bot}/${path}`, body);
    const doc = docOf(bot, path, body);
    if (index.has(doc.id)) index.replace(doc);
    else index.add(doc);
    return { content: [{ type: 'text', text: JSON.stringify({ path }) }] };
  });
  return mcp;
}

const sessions = new Map<string, McpSession>();
const httpServer = http.createServer(async (req, res) => {
  const id = req.headers['mcp-session-id'] as string | undefined;
  let session = id ? sessions.get(id) : undefined;
  if (!session) {
    session = new McpSession();
    await server().connect(session);
    sessions.set(session.sessionId, session);
  }
  if (req.method === 'POST') session.handlePost(req, res, JSON.parse(await bodyOf(req)));
  else if (req.method === 'GET') session.handleGet(req, res);
  else await session.handleDelete(req, res);
});

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
httpServer.listen(0, '127.0.0.1', () => console.log(`ready http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`));
process.once('SIGTERM', () => process.exit(0));
