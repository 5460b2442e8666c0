import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NoteCatalogue } from '../../src/core/catalogue.js';
import { type NoteDoc, SearchIndex, type ShardScope } from '../../src/core/search/index.js';
import { snippet } from '../../src/core/search/snippet.js';
import { random } from '../helpers.js';

let dir: string;
let index: SearchIndex;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roost-search-'));
  index = new SearchIndex(new NoteCatalogue(), join(dir, 'index'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function note(bot: string, path: string, fields: Partial<NoteDoc> = {}): NoteDoc {
  return {
    bot,
    path,
    title: '',
    tags: [],
    type: '',
    visibility: 'private',
    created: '',
    updated: '',
    body: '',
    mtimeMs: 1,
    size: 1,
    ...fields,
  };
}

const own = (bot: string): ShardScope[] => [{ bot, sharedOnly: false }];
const paths = (query: string, options: Parameters<SearchIndex['search']>[1]) =>
  index.search(query, options).hits.map((h) => `${h.bot}:${h.path}`);

describe('SearchIndex', () => {
  it('finds a note as soon as upsert returns, with its metadata and matched terms', () => {
    index.upsert(note('dev', 'notes/deploy.md', { title: 'Deploy', tags: ['ops'], body: 'Roll out the kubernetes cluster.' }));
    const { total, hits } = index.search('kubernetes', { scopes: own('dev') });
    expect(total).toBe(1);
    expect(hits[0]).toMatchObject({ bot: 'dev', path: 'notes/deploy.md', title: 'Deploy', tags: ['ops'], terms: ['kubernetes'] });
    expect(hits[0]).not.toHaveProperty('body');
    expect(hits[0].score).toBeGreaterThan(0);
    expect(index.catalogue.get('dev', 'notes/deploy.md')).toMatchObject({ title: 'Deploy', mtimeMs: 1 });
    expect(index.catalogue.bots()).toEqual(['dev']);
  });

  it('replaces a note and forgets its old words; removes notes and whole bots', () => {
    index.upsert(note('dev', 'a.md', { body: 'alpha' }));
    index.upsert(note('dev', 'a.md', { body: 'omega', size: 2 }));
    expect(index.search('alpha', { scopes: own('dev'), fuzzy: false }).total).toBe(0);
    expect(index.search('omega', { scopes: own('dev') }).total).toBe(1);
    expect(index.catalogue.list('dev')).toHaveLength(1);
    expect(index.catalogue.get('dev', 'a.md')?.size).toBe(2);

    index.remove('dev', 'a.md');
    expect(index.search('omega', { scopes: own('dev') }).total).toBe(0);
    expect(index.catalogue.get('dev', 'a.md')).toBeUndefined();
    index.remove('dev', 'a.md');
    index.remove('nobody', 'a.md');

    index.upsert(note('dev', 'b.md', { body: 'omega' }));
    index.removeBot('dev');
    expect(index.catalogue.bots()).toEqual([]);
    expect(index.search('omega', { scopes: own('dev') }).total).toBe(0);
  });

  it('matches prefixes and typos, unless turned off', () => {
    index.upsert(note('dev', 'a.md', { body: 'The deployment runs on kubernetes.' }));
    expect(index.search('deplo', { scopes: own('dev') }).total).toBe(1);
    expect(index.search('kubernets', { scopes: own('dev') }).total).toBe(1);
    expect(index.search('deplo', { scopes: own('dev'), prefix: false }).total).toBe(0);
    expect(index.search('kubernets', { scopes: own('dev'), fuzzy: false }).total).toBe(0);
  });

  it('ranks a title match above a body match, and searches tags but not the path', () => {
    index.upsert(note('dev', 'body.md', { body: 'Some words about the release of the app.' }));
    index.upsert(note('dev', 'title.md', { title: 'Release', body: 'Some words about the app.' }));
    expect(paths('release', { scopes: own('dev') })).toEqual(['dev:title.md', 'dev:body.md']);

    index.upsert(note('dev', 'journal/2024-05-01.md', { tags: ['incident'] }));
    expect(paths('incident', { scopes: own('dev') })).toEqual(['dev:journal/2024-05-01.md']);
    expect(index.search('journal', { scopes: own('dev') }).total).toBe(0);
  });

  it('counts a query word once per note, by its best term, so a note full of near terms does not pass the note its title names', () => {
    index.upsert(note('dev', 'storage-state.md', { title: 'Storage state', body: 'Where the browser keeps its cookies between runs.' }));
    index.upsert(
      note('dev', 'contents.md', {
        title: 'Contents',
        body: 'Save the storage state: the `storageState` option, a `storage-state.json` file, stateful and stateless pages, statements, storages; `storage.stateDir`, `stateFile`.',
      }),
    );
    for (let i = 0; i < 5; i++) index.upsert(note('dev', `other-${i}.md`, { body: 'Nothing about it here, only storage.' }));
    expect(paths('storage state', { scopes: own('dev'), limit: 2 })).toEqual(['dev:storage-state.md', 'dev:contents.md']);
  });

  it('finds technical words in backticks, identifiers whole and by their parts, flags, and words without their diacritics', () => {
    index.upsert(note('dev', 'ts.md', { body: 'Set `compilerOptions.strict` in `tsconfig.json`.' }));
    index.upsert(note('dev', 'cache.md', { body: 'The `cacheDir` option and the cache_size limit.' }));
    index.upsert(note('dev', 'cli.md', { body: 'Run it with `--no-color` or --style plain.' }));
    index.upsert(note('dev', 'style.md', { body: 'A note about style, and style again.' }));
    index.upsert(note('dev', 'de.md', { title: 'Prüfung', body: 'Die Überprüfung der Größe.' }));
    const exact = { scopes: own('dev'), prefix: false, fuzzy: false };
    for (const query of ['tsconfig', 'tsconfig.json', 'compilerOptions.strict', 'strict']) expect(paths(query, exact)).toEqual(['dev:ts.md']);
    expect(paths('compilerOptions', { scopes: own('dev') })[0]).toBe('dev:ts.md');
    for (const query of ['cacheDir', 'cachedir', 'cache dir', 'CACHE_DIR', 'cache_size', 'size']) expect(paths(query, exact)[0]).toBe('dev:cache.md');
    expect(paths('--no-color', exact)).toEqual(['dev:cli.md']);
    expect(paths('--style', exact)).toEqual(['dev:cli.md', 'dev:style.md']);
    expect(paths('uberprufung grosse', exact)).toEqual(['dev:de.md']);
    expect(paths('ÜBERPRÜFUNG', exact)).toEqual(['dev:de.md']);
    expect(index.search('cacheDir', exact).hits[0].terms).toEqual(['cachedir', 'cache', 'dir']);
  });

  it('finds nothing for a query of stop words only, rather than listing every note', () => {
    index.upsert(note('dev', 'a.md', { body: 'the and of to' }));
    expect(index.search('the of', { scopes: own('dev') })).toEqual({ total: 0, hits: [] });
    expect(index.search('  ', { scopes: own('dev') }).total).toBe(1);
  });

  it('merges several shards, hiding private notes where the scope is shared-only', () => {
    index.upsert(note('dev', 'mine.md', { body: 'budget' }));
    index.upsert(note('research', 'open.md', { body: 'budget', visibility: 'shared' }));
    index.upsert(note('research', 'secret.md', { body: 'budget' }));
    const scopes: ShardScope[] = [
      { bot: 'dev', sharedOnly: false },
      { bot: 'research', sharedOnly: true },
      { bot: 'nobody', sharedOnly: false },
    ];
    expect(paths('budget', { scopes })).toEqual(['dev:mine.md', 'research:open.md']);
    expect(paths('budget', { scopes: own('research') })).toEqual(['research:open.md', 'research:secret.md']);
    // The widest scope wins when a bot is listed twice.
    expect(index.search('budget', { scopes: [{ bot: 'research', sharedOnly: true }, ...own('research')] }).total).toBe(2);
  });

  it('filters on tags (all, case-insensitive), type and update dates', () => {
    index.upsert(note('dev', 'a.md', { body: 'plan', tags: ['Ops', 'urgent'], type: 'decision', updated: '2024-01-10T00:00:00Z' }));
    index.upsert(note('dev', 'b.md', { body: 'plan', tags: ['ops'], type: 'howto', updated: '2024-03-10T00:00:00Z' }));
    index.upsert(note('dev', 'c.md', { body: 'plan' }));
    const scopes = own('dev');
    expect(paths('plan', { scopes, tags: ['ops'] }).sort()).toEqual(['dev:a.md', 'dev:b.md']);
    expect(paths('plan', { scopes, tags: ['OPS', 'Urgent'] })).toEqual(['dev:a.md']);
    expect(paths('plan', { scopes, type: 'howto' })).toEqual(['dev:b.md']);
    expect(paths('plan', { scopes, updatedAfter: '2024-02-01' })).toEqual(['dev:b.md']);
    expect(paths('plan', { scopes, updatedBefore: '2024-02-01' })).toEqual(['dev:a.md']);
    expect(paths('plan', { scopes, updatedAfter: '2024-01-10T00:00:00Z', updatedBefore: '2024-03-10T00:00:00Z' })).toEqual([
      'dev:a.md',
    ]);
    expect(() => index.search('plan', { scopes, updatedAfter: 'last week' })).toThrow(/updatedAfter "last week" is not a date/);
  });

  it('pages through results ordered by score, then bot, then path, and counts them all', () => {
    for (const bot of ['b', 'a']) {
      for (let i = 0; i < 5; i++) index.upsert(note(bot, `n${i}.md`, { body: 'same words here' }));
    }
    const scopes = [...own('a'), ...own('b')];
    const all = index.search('words', { scopes, limit: 100 });
    expect(all.total).toBe(10);
    expect(all.hits.map((h) => `${h.bot}:${h.path}`)).toEqual([
      ...['a', 'b'].flatMap((bot) => [0, 1, 2, 3, 4].map((i) => `${bot}:n${i}.md`)),
    ]);
    const page = index.search('words', { scopes, limit: 3, offset: 4 });
    expect(page.total).toBe(10);
    expect(page.hits).toEqual(all.hits.slice(4, 7));
    expect(index.search('words', { scopes }).hits).toHaveLength(10);
    expect(index.search('words', { scopes, limit: 0 })).toEqual({ total: 10, hits: [] });
    expect(index.search('words', { scopes, offset: 20 })).toEqual({ total: 10, hits: [] });
  });

  it('lists notes by update time, newest first, for an empty query', () => {
    index.upsert(note('dev', 'old.md', { updated: '2024-01-01T00:00:00Z', tags: ['x'] }));
    index.upsert(note('dev', 'new.md', { updated: '2024-06-01T00:00:00Z', tags: ['x'] }));
    index.upsert(note('dev', 'undated.md', { tags: ['x'] }));
    index.upsert(note('dev', 'mid.md', { updated: '2024-03-01T12:00:00+02:00' }));
    const result = index.search('  ', { scopes: own('dev') });
    expect(result.total).toBe(4);
    expect(result.hits.map((h) => h.path)).toEqual(['new.md', 'mid.md', 'old.md', 'undated.md']);
    expect(result.hits.every((h) => h.score === 0 && h.terms.length === 0)).toBe(true);
    expect(paths('', { scopes: own('dev'), tags: ['x'], limit: 2 })).toEqual(['dev:new.md', 'dev:old.md']);
  });
});

describe('snapshots and reconciling', () => {
  const files = (docs: NoteDoc[]) => docs.map(({ path, mtimeMs, size }) => ({ path, mtimeMs, size }));

  it('saves shards and loads them into a new index without reading files', async () => {
    index.upsert(note('dev', 'notes/plan.md', { title: 'Plan', body: 'kubernetes deployment', tags: ['ops'] }));
    index.upsert(note('dev', 'gone.md', { body: 'kubernetes' }));
    index.remove('dev', 'gone.md');
    index.upsert(note('research', 'paper.md', { body: 'kubernetes survey', visibility: 'shared' }));
    await index.saveSnapshots();

    const loaded = new SearchIndex(new NoteCatalogue(), join(dir, 'index'));
    expect(await loaded.loadSnapshot('dev')).toBe(true);
    expect(await loaded.loadSnapshot('research')).toBe(true);
    expect(await loaded.loadSnapshot('nobody')).toBe(false);
    const options = { scopes: [...own('dev'), ...own('research')] };
    for (const query of ['kubernetes', 'deplo', 'kubernets', 'plan', '']) {
      expect(loaded.search(query, options)).toEqual(index.search(query, options));
    }
    expect(loaded.catalogue.list('dev')).toEqual(index.catalogue.list('dev'));

    const read = vi.fn(async () => null);
    const docs = [note('dev', 'notes/plan.md')];
    expect(await loaded.reconcile('dev', files(docs), read)).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(read).not.toHaveBeenCalled();
  });

  it('writes only shards changed since the last save, and deletes snapshots of removed bots', async () => {
    index.upsert(note('dev', 'a.md'));
    index.upsert(note('research', 'b.md'));
    await index.saveSnapshots();
    const devFile = join(dir, 'index', 'dev.json');
    const researchFile = join(dir, 'index', 'research.json');
    await writeFile(researchFile, 'untouched');

    index.upsert(note('dev', 'c.md'));
    await index.saveSnapshots();
    expect(await readFile(researchFile, 'utf8')).toBe('untouched');
    expect(JSON.parse(await readFile(devFile, 'utf8')).notes).toHaveLength(2);

    index.removeBot('research');
    await index.saveSnapshots();
    await expect(readFile(researchFile)).rejects.toThrow();
  });

  it('reports a corrupt, foreign or inconsistent snapshot as not loaded', async () => {
    index.upsert(note('dev', 'a.md', { body: 'words' }));
    await index.saveSnapshots();
    const file = join(dir, 'index', 'dev.json');
    const good = JSON.parse(await readFile(file, 'utf8'));
    const fresh = () => new SearchIndex(new NoteCatalogue(), join(dir, 'index'));

    await writeFile(file, '{"version": 1, "notes": [');
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    await writeFile(file, JSON.stringify({ ...good, version: 999 }));
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    // A posting that names a note the snapshot does not have.
    const beyond = Buffer.from(new Int32Array([5 * 1024]).buffer).toString('base64');
    await writeFile(file, JSON.stringify({ ...good, terms: ['words'], counts: [1], postings: beyond }));
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    const twice = Buffer.from(new Int32Array([3 * 256 + 1, 3 * 256 + 1]).buffer).toString('base64');
    await writeFile(file, JSON.stringify({ ...good, terms: ['words', 'words'], counts: [1, 1], postings: twice }));
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    await writeFile(file, JSON.stringify({ ...good, counts: good.counts.map((c: number) => c + 1) }));
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    await writeFile(file, JSON.stringify({ ...good, notes: [] }));
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    await writeFile(file, 'null');
    expect(await fresh().loadSnapshot('dev')).toBe(false);
    await writeFile(file, JSON.stringify(good));
    expect(await fresh().loadSnapshot('dev')).toBe(true);
  });

  it('ranks after many changes as an index built from the final notes does, and so does its snapshot', async () => {
    const rand = random(7);
    const words = 'alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega river stone cloud field'.split(' ');
    const text = (n: number) => Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(' ');
    const final = new Map<string, NoteDoc>();
    const marked: string[] = [];
    // Asked for before the changes, so the totals are kept up to date through them.
    for (const bot of ['dev', 'ops']) index.upsert(note(bot, 'first.md', { size: 5 }));
    expect([index.catalogue.bytes('dev'), index.catalogue.bytes('ops')]).toEqual([5, 5]);
    for (const bot of ['dev', 'ops']) index.remove(bot, 'first.md');
    for (let i = 0; i < 3000; i++) {
      const bot = rand() < 0.5 ? 'dev' : 'ops';
      const path = `n${Math.floor(rand() * 150)}.md`;
      if (rand() < 0.2) {
        index.remove(bot, path);
        final.delete(`${bot}:${path}`);
        continue;
      }
      // Some notes bring words no other has, so terms come and go from the shards.
      const doc = note(bot, path, { title: text(2), tags: [text(1)], body: `${text(Math.floor(rand() * 60))} w${i}`, size: i });
      marked.push(`w${i}`);
      index.upsert(doc);
      final.set(`${bot}:${path}`, doc);
    }
    const rebuilt = new SearchIndex(new NoteCatalogue(), join(dir, 'rebuilt'));
    for (const doc of final.values()) rebuilt.upsert(doc);
    await index.saveSnapshots();
    const loaded = new SearchIndex(new NoteCatalogue(), join(dir, 'index'));
    expect(await loaded.loadSnapshot('dev')).toBe(true);
    expect(await loaded.loadSnapshot('ops')).toBe(true);

    const scopes = [...own('dev'), { bot: 'ops', sharedOnly: false }];
    // Exact terms only: the order of prefix and fuzzy expansions follows the vocabulary's history.
    const options = { scopes, prefix: false, fuzzy: false, limit: 40 };
    const byPath = (index: SearchIndex, bot: string) => index.catalogue.list(bot).sort((a, b) => (a.path < b.path ? -1 : 1));
    for (const other of [rebuilt, loaded]) {
      for (const query of [...words, 'alpha omega', 'river stone cloud', '', ...marked]) {
        expect(other.search(query, options)).toEqual(index.search(query, options));
      }
      for (const bot of ['dev', 'ops']) {
        expect(byPath(other, bot)).toEqual(byPath(index, bot));
        expect(other.catalogue.bytes(bot)).toBe(index.catalogue.bytes(bot));
        expect(index.catalogue.bytes(bot)).toBe([...final.values()].filter((d) => d.bot === bot).reduce((sum, d) => sum + d.size, 0));
      }
    }
  });

  it('loads a snapshot with one tag list for notes that have the same tags', async () => {
    index.upsert(note('dev', 'a.md', { tags: ['ops', 'urgent'] }));
    index.upsert(note('dev', 'b.md', { tags: ['ops', 'urgent'] }));
    index.upsert(note('dev', 'c.md', { tags: ['ops'] }));
    await index.saveSnapshots();
    const loaded = new SearchIndex(new NoteCatalogue(), join(dir, 'index'));
    await loaded.loadSnapshot('dev');
    expect(loaded.catalogue.get('dev', 'a.md')!.tags).toBe(loaded.catalogue.get('dev', 'b.md')!.tags);
    expect(loaded.catalogue.get('dev', 'c.md')!.tags).toEqual(['ops']);
    expect(loaded.search('', { scopes: own('dev'), tags: ['URGENT'] }).total).toBe(2);
  });

  it('reconciles a shard with the disk, reading only new and changed files', async () => {
    const kept = note('dev', 'kept.md', { body: 'steady', mtimeMs: 10, size: 6 });
    const changed = note('dev', 'changed.md', { body: 'before', mtimeMs: 10, size: 6 });
    const deleted = note('dev', 'deleted.md', { body: 'gone', mtimeMs: 10, size: 4 });
    const broken = note('dev', 'broken.md', { body: 'fine', mtimeMs: 10, size: 4 });
    for (const doc of [kept, changed, deleted, broken]) index.upsert(doc);

    const disk = new Map<string, NoteDoc | null>([
      ['kept.md', kept],
      ['changed.md', { ...changed, body: 'after', mtimeMs: 20 }],
      ['broken.md', null],
      ['new.md', note('dev', 'new.md', { body: 'fresh', mtimeMs: 30, size: 5 })],
      ['skipped.md', null],
    ]);
    const listing = [
      ...files([kept, { ...changed, mtimeMs: 20 }, { ...broken, size: 99 }]),
      { path: 'new.md', mtimeMs: 30, size: 5 },
      { path: 'skipped.md', mtimeMs: 30, size: 5 },
    ];
    const read = vi.fn(async (path: string) => disk.get(path) ?? null);

    expect(await index.reconcile('dev', listing, read)).toEqual({ added: 1, updated: 1, removed: 2 });
    expect(read.mock.calls.map(([path]) => path).sort()).toEqual(['broken.md', 'changed.md', 'new.md', 'skipped.md']);
    expect(index.catalogue.list('dev').map((m) => m.path).sort()).toEqual(['changed.md', 'kept.md', 'new.md']);
    expect(paths('after', { scopes: own('dev') })).toEqual(['dev:changed.md']);
    expect(index.search('before', { scopes: own('dev'), fuzzy: false }).total).toBe(0);

    read.mockClear();
    expect(await index.reconcile('dev', listing.slice(0, 4), read)).toEqual({ added: 0, updated: 0, removed: 0 });
    expect(read.mock.calls.map(([path]) => path)).toEqual(['broken.md']);
  });

  it('reconciles a bot it has never seen by reading everything', async () => {
    const docs = [note('new', 'a.md', { body: 'one' }), note('new', 'b.md', { body: 'two' })];
    const read = vi.fn(async (path: string) => docs.find((d) => d.path === path) ?? null);
    expect(await index.reconcile('new', files(docs), read)).toEqual({ added: 2, updated: 0, removed: 0 });
    expect(read).toHaveBeenCalledTimes(2);
    expect(index.catalogue.bots()).toEqual(['new']);
  });
});

describe('snippet', () => {
  const long = `${'intro words '.repeat(30)}the kubernetes rollout happened here ${'closing words '.repeat(30)}`;

  it('returns short bodies whole, with whitespace collapsed', () => {
    expect(snippet('  Hello\n\n  world\tagain ', ['world'])).toBe('Hello world again');
  });

  it('cuts a window around the first matched term, marking the cuts', () => {
    const text = snippet(long, ['rollout', 'kubernetes'], 80);
    expect(text.length).toBeLessThanOrEqual(80);
    expect(text).toMatch(/^….*the kubernetes rollout happened.*…$/);
    expect(text).toMatch(/^…(intro|words) /);
  });

  it('cuts around the passage holding the most terms, not the first mention of one, and finds folded terms', () => {
    const body = `The rollout starts. ${'filler words here '.repeat(40)}Then the kubernetes rollout of the Überprüfung ends. ${'more filler '.repeat(40)}`;
    expect(snippet(body, ['kubernetes', 'rollout', 'uberprufung'], 80)).toMatch(/^….*kubernetes rollout of the Überprüfung/);
  });

  it('matches terms case-insensitively at the start of words only', () => {
    const body = `${'x '.repeat(100)}Monitoring and ${'y '.repeat(100)}`;
    expect(snippet(body, ['monitoring'], 40)).toContain('Monitoring and');
    expect(snippet(body, ['toring'], 40)).toMatch(/^x x/);
  });

  it('sees letters beyond the basic plane and text whose lowercase is longer', () => {
    const filler = 'x '.repeat(100);
    // 𝒜 is a letter (two UTF-16 units), so "cat" after it is inside a word; 😀 is not a letter.
    expect(snippet(`${filler}𝒜cat ${filler}😀cat ${filler}`, ['cat'], 30)).toMatch(/😀cat/);
    // İ lowercases to two units, which would shift every index after it.
    expect(snippet(`İ ${filler}Ünïcode here ${filler}`, ['ünïcode'], 30)).toMatch(/^….*Ünïcode here/);
  });

  it('starts at the beginning when no term is found, and ends near the end when the term is there', () => {
    expect(snippet(long, ['absent'], 60)).toMatch(/^intro words.*…$/);
    expect(snippet(long, [], 60)).toMatch(/^intro words.*…$/);
    expect(snippet(`${long} finale`, ['finale'], 60)).toMatch(/^….*finale$/);
  });
});
