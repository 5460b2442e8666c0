import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import { call, eventually, git, httpClient, OPERATOR_TOKEN, random, startTestDaemon, type TestDaemon } from '../helpers.js';

// A person edits, renames and deletes files in the data root by hand while bots write through MCP,
// often the same files. Once things settle, the search index and git agree exactly with the disk.
const PERSON_OPS = Number(process.env.EXTERNAL_OPS ?? 400);
const BOTS = ['dev', 'research'];
const CLIENTS_PER_BOT = 2;
const SEED = Number(process.env.EXTERNAL_SEED ?? 42);

let daemon: TestDaemon;
afterAll(async () => {
  await daemon?.destroy();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every file under `bots/`, relative to the data root, with its content (hidden ones are not the bots' notes). */
function filesOnDisk(): Map<string, string> {
  const files = new Map<string, string>();
  const visit = (folder: string) => {
    let entries;
    try {
      entries = readdirSync(path.join(daemon.home, folder), { withFileTypes: true });
    } catch {
      return; // a folder gone between listing and reading (an empty one is removed with its last note): the disk is still moving
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const rel = `${folder}/${entry.name}`;
      if (entry.isDirectory()) visit(rel);
      else if (entry.isFile()) {
        try {
          files.set(rel, readFileSync(path.join(daemon.home, rel), 'utf8'));
        } catch {
          // gone between listing and reading
        }
      }
    }
  };
  visit('bots');
  return files;
}

/** The notes of `bots/` as the search index lists them (an empty query lists every note), as data-root paths. */
async function notesInIndex(operator: Client): Promise<string[]> {
  const found: string[] = [];
  for (let offset = 0; ; offset += 100) {
    const page = await call(operator, 'search_memory', { query: '', scope: 'all', limit: 100, offset });
    found.push(...page.results.map((r: { bot: string; path: string }) => `bots/${r.bot}/${r.path}`));
    if (page.next_offset === undefined) return found.sort();
  }
}

/** The id git gives a file with this content. */
function blobId(text: string): string {
  const content = Buffer.from(text, 'utf8');
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/** What `actual` has that `expected` lacks, and the other way round. */
function difference(actual: string[], expected: string[]) {
  return { extra: actual.filter((x) => !expected.includes(x)).sort(), missing: expected.filter((x) => !actual.includes(x)).sort() };
}

it(`keeps the index and git equal to the disk while a person and bots change the same memory (${PERSON_OPS} edits by hand)`, { timeout: 300_000 }, async () => {
  daemon = await startTestDaemon();
  const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
  const markers = new Set<string>();
  let counter = 0;
  const marker = (who: string) => {
    const word = `mk${who}${counter++}z`;
    markers.add(word);
    return word;
  };

  // ---- the person ----------------------------------------------------------------------
  const r = random(SEED);
  const pick = <T>(list: T[]): T => list[Math.floor(r() * list.length)];
  const abs = (rel: string) => path.join(daemon.home, rel);
  const mdFiles = (bot: string) => [...filesOnDisk().keys()].filter((f) => f.startsWith(`bots/${bot}/`) && f.endsWith('.md'));
  const personOps: Array<(bot: string) => void> = [
    (bot) => {
      const rel = `bots/${bot}/people/${pick(['', 'sub1/', 'sub2/', 'deep/er/'])}p${counter}.md`;
      mkdirSync(path.dirname(abs(rel)), { recursive: true });
      writeFileSync(abs(rel), `# Person note\n\n${marker('p')} written by hand\n`);
    },
    (bot) => appendFileSync(abs(pick(mdFiles(bot))), `\n${marker('p')} appended by hand\n`),
    (bot) => writeFileSync(abs(pick(mdFiles(bot))), `# Rewritten\n\n${marker('p')} replaced by hand\n`),
    (bot) => {
      const from = pick(mdFiles(bot));
      const to = `bots/${bot}/${pick(['people/', 'notes/', 'people/sub1/'])}moved${counter++}.md`;
      mkdirSync(path.dirname(abs(to)), { recursive: true });
      renameSync(abs(from), abs(to));
    },
    (bot) => unlinkSync(abs(pick(mdFiles(bot)))),
    (bot) => {
      // An editor's save: a new file beside it, renamed over it.
      const target = pick(mdFiles(bot));
      writeFileSync(`${abs(target)}.new`, `# Saved\n\n${marker('p')} saved by an editor\n`);
      renameSync(`${abs(target)}.new`, abs(target));
    },
    (bot) => {
      const from = abs(`bots/${bot}/people/${pick(['sub1', 'sub2', 'deep'])}`);
      if (existsSync(from)) renameSync(from, abs(`bots/${bot}/people/sub${counter++}`));
    },
    (bot) => rmSync(abs(`bots/${bot}/people/${pick(['sub1', 'sub2', 'deep'])}`), { recursive: true, force: true }),
    (bot) => writeFileSync(abs(`bots/${bot}/people/plain${counter}.txt`), `not a note ${marker('p')}\n`),
  ];
  const person = async () => {
    for (let i = 0; i < PERSON_OPS; i++) {
      try {
        pick(personOps)(pick(BOTS));
      } catch {
        // the file was moved or deleted by a bot meanwhile: a person would just try something else
      }
      await sleep(r() * 15);
    }
  };

  // ---- the bots ------------------------------------------------------------------------
  let personDone = false;
  const failures: string[] = [];
  const bot = async (id: string, client: Client, seed: number) => {
    const b = random(seed);
    const choose = <T>(list: T[]): T => list[Math.floor(b() * list.length)];
    const own = () => mdFiles(id).map((f) => f.slice(`bots/${id}/`.length));
    const calls: Array<() => [string, Record<string, unknown>]> = [
      () => ['write_note', { path: `notes/n${Math.floor(b() * 30)}.md`, body: `${marker('b')} written by ${id}` }],
      () => ['edit_note', { path: choose(own()) ?? 'notes/n0.md', operation: 'append', text: `${marker('b')} appended by ${id}` }],
      () => ['move_note', { from: choose(own()) ?? 'notes/n0.md', to: `notes/m${counter++}.md` }],
      () => ['delete_note', { path: choose(own()) ?? 'notes/n0.md' }],
      () => ['set_fact', { key: `k${Math.floor(b() * 5)}`, value: marker('b') }],
      () => ['journal_append', { text: `${marker('b')} noted by ${id}` }],
    ];
    while (!personDone) {
      const [name, args] = choose(calls)();
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      const text = result.isError ? result.content.map((c) => (c.type === 'text' ? c.text : '')).join('') : '';
      // Refusals (a note gone, a destination taken) are expected when a person moves things; failures are not.
      if (/could not complete/i.test(text)) failures.push(`${name} ${JSON.stringify(args)}: ${text}`);
      await sleep(b() * 10);
    }
  };

  const clients = await Promise.all(BOTS.flatMap((id) => Array.from({ length: CLIENTS_PER_BOT }, () => httpClient(daemon.url, daemon.tokens[id]))));
  for (const [i, id] of BOTS.entries()) {
    for (let n = 0; n < 5; n++) await call(clients[i], 'write_note', { path: `notes/n${n}.md`, body: `${marker('b')} first written by ${id}` });
  }
  await Promise.all([
    person().finally(() => (personDone = true)),
    ...clients.map((client, i) => bot(BOTS[i % BOTS.length], client, SEED * 100 + i)),
  ]);
  expect(failures).toEqual([]);

  // ---- settled: the index and git say what the disk says ---------------------------------
  await eventually(async () => {
    await daemon.roost.history.flush();
    const disk = filesOnDisk();
    const notes = [...disk.keys()].filter((f) => f.endsWith('.md')).sort();
    const index = difference(await notesInIndex(operator), notes);
    const tracked = difference(git(daemon.home, 'ls-tree', '-r', '--name-only', 'HEAD', '--', 'bots').trim().split('\n'), [...disk.keys()]);
    if (index.extra.length + index.missing.length + tracked.extra.length + tracked.missing.length) {
      throw new Error(`index vs disk ${JSON.stringify(index)}; git vs disk ${JSON.stringify(tracked)}`);
    }
    // git's index follows the commits a moment later; then git status shows nothing left over.
    expect(git(daemon.home, 'status', '--porcelain', '--', 'bots')).toBe('');
    expect(git(daemon.home, 'ls-files', 'bots').trim().split('\n').sort()).toEqual([...disk.keys()].sort());
    return true;
  }, 60_000);

  const disk = filesOnDisk();
  // One git call, not one per file: the daemon runs in this process, and a long synchronous pause
  // outlasts the HTTP keep-alive, so the next call would find its connection reset.
  const committed = new Map(
    git(daemon.home, 'ls-tree', '-r', 'HEAD', '--', 'bots').trim().split('\n').map((line) => {
      const [meta, file] = line.split('\t');
      return [file, meta.split(' ')[2]] as const;
    }),
  );
  for (const [file, text] of disk) expect(committed.get(file), file).toBe(blobId(text));
  // Every word ever written is found exactly where it is on disk now, and nowhere once it is gone.
  for (const word of markers) {
    const where = [...disk].filter(([file, text]) => file.endsWith('.md') && text.includes(word)).map(([file]) => file);
    const found = await call(operator, 'search_memory', { query: word, scope: 'all', prefix: false, fuzzy: false, limit: 100 });
    expect(found.results.map((hit: { bot: string; path: string }) => `bots/${hit.bot}/${hit.path}`).sort(), word).toEqual(where.sort());
  }
  expect(markers.size).toBeGreaterThan(PERSON_OPS / 2);
  await Promise.all([...clients, operator].map((c) => c.close()));
});
