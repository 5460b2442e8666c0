import { existsSync, readFileSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, dataFiles, eventually, git, httpClient, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
let dev: Client;
let research: Client;
let main: Client;

beforeAll(async () => {
  daemon = await startTestDaemon();
  dev = await httpClient(daemon.url, daemon.tokens.dev);
  research = await httpClient(daemon.url, daemon.tokens.research);
  main = await httpClient(daemon.url, daemon.tokens.main);
});

afterAll(async () => {
  await Promise.all([dev, research, main].map((c) => c?.close()));
  await daemon?.destroy();
});

describe('notes through MCP over HTTP', () => {
  it('writes a note to disk, makes it searchable at once, and commits it as the bot', async () => {
    const written = await call(dev, 'write_note', {
      path: 'notes/deploy.md',
      title: 'Deployment checklist',
      body: '# Deploy\n\nRun the kubernetes rollout, then watch the dashboards.\n',
      tags: ['ops', 'deploy'],
      type: 'howto',
    });
    expect(written).toMatchObject({ bot: 'dev', path: 'notes/deploy.md', created: true });

    const file = path.join(daemon.home, 'bots/dev/notes/deploy.md');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^---\n/);
    expect(text).toContain('title: Deployment checklist');
    expect(text).toContain('Run the kubernetes rollout');

    const found = await call(dev, 'search_memory', { query: 'kubernet' });
    expect(found.results.map((r: any) => r.path)).toEqual(['notes/deploy.md']);
    expect(found.results[0].snippet).toContain('kubernetes');

    const fuzzy = await call(dev, 'search_memory', { query: 'kubernets' });
    expect(fuzzy.total).toBe(1);

    await eventually(() => git(daemon.home, 'log', '--format=%an|%s', '--', 'bots/dev/notes/deploy.md').includes('dev|dev: create notes/deploy.md'));
  });

  it('answers a search with a 0–1 relevance, what each query word matched and how, and a snippet of the best passage', async () => {
    const filler = 'Unrelated words about the weather and lunch. '.repeat(20);
    await call(dev, 'write_note', { path: 'notes/cache.md', title: 'Build cache', body: `The \`cacheDir\` option is set once.\n\n${filler}\n\nClearing the cacheDir with --force rebuilds everything.\n` });
    await call(dev, 'write_note', { path: 'notes/other.md', title: 'Other', body: 'A cache of words.' });
    const found = await call(dev, 'search_memory', { query: 'cachedir forse' });
    expect(found.results[0]).toMatchObject({ path: 'notes/cache.md', relevance: 1 });
    expect(found.results[0].matched).toEqual(
      expect.arrayContaining([
        { query: 'cachedir', term: 'cachedir', match: 'exact' },
        { query: 'forse', term: 'force', match: 'fuzzy' },
      ]),
    );
    // The passage holding both words, not the first mention of one.
    expect(found.results[0].snippet).toMatch(/Clearing the cacheDir with --force/);
    expect(found.results[0]).not.toHaveProperty('score');
    for (const r of found.results) expect(r.relevance).toBeGreaterThanOrEqual(0), expect(r.relevance).toBeLessThanOrEqual(1);
    const stems = await call(dev, 'search_memory', { query: 'rebuil' });
    expect(stems.results[0].matched).toEqual([{ query: 'rebuil', term: 'rebuilds', match: 'prefix' }]);
  });

  it('reads a note with its size first and in line ranges', async () => {
    const body = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    await call(dev, 'write_note', { path: 'notes/long.md', body });
    const whole = await call(dev, 'read_note', { path: 'notes/long.md' });
    expect(whole.size).toBe(readFileSync(path.join(daemon.home, 'bots/dev/notes/long.md')).length);
    expect(whole.lines).toBe(51);
    const part = await call(dev, 'read_note', { path: 'notes/long.md', from_line: 10, to_line: 12 });
    expect(part.body).toBe('line 10\nline 11\nline 12');
    expect(part.truncated).toBe(false);
  });

  it('edits: append, prepend, replace a section, find and replace', async () => {
    const first = await call(dev, 'write_note', { path: 'notes/plan.md', body: '# Plan\n\n## Now\n\nwrite code\n\n## Next\n\nship it\n' });
    await call(dev, 'edit_note', { path: 'notes/plan.md', operation: 'append', text: 'appended line\n' });
    await call(dev, 'edit_note', { path: 'notes/plan.md', operation: 'replace_section', heading: 'Now', text: 'review code' });
    await call(dev, 'edit_note', { path: 'notes/plan.md', operation: 'find_replace', find: 'ship it', replace: 'ship it on Friday' });
    const stale = await callError(dev, 'edit_note', {
      path: 'notes/plan.md',
      operation: 'prepend',
      text: 'x',
      expected_version: first.version,
    });
    expect(stale).toMatch(/changed since you read it/);
    const note = await call(dev, 'read_note', { path: 'notes/plan.md' });
    expect(note.body).toBe('# Plan\n\n## Now\n\nreview code\n\n## Next\n\nship it on Friday\nappended line\n');
    expect(note.frontmatter.created).toBeTruthy();
  });

  it('moves and deletes notes, and lists folders', async () => {
    await call(dev, 'write_note', { path: 'drafts/a.md', body: 'alpha' });
    await call(dev, 'move_note', { from: 'drafts/a.md', to: 'archive/a.md' });
    expect(existsSync(path.join(daemon.home, 'bots/dev/drafts/a.md'))).toBe(false);
    expect(existsSync(path.join(daemon.home, 'bots/dev/archive/a.md'))).toBe(true);
    const top = await call(dev, 'list_notes', {});
    expect(top.folders.map((f: any) => f.path)).toContain('archive');
    expect(top.folders.map((f: any) => f.path)).not.toContain('drafts');
    await call(dev, 'delete_note', { path: 'archive/a.md' });
    expect(existsSync(path.join(daemon.home, 'bots/dev/archive/a.md'))).toBe(false);
    const search = await call(dev, 'search_memory', { query: 'alpha' });
    expect(search.total).toBe(0);
  });
});

describe('isolation and sharing', () => {
  it('keeps private notes private, shares shared ones, and lets the main bot read everything', async () => {
    await call(dev, 'write_note', { path: 'secret.md', body: 'zebra private plan', visibility: 'private' });
    await call(dev, 'write_note', { path: 'public.md', body: 'zebra shared plan', visibility: 'shared' });

    expect(await callError(research, 'read_note', { bot: 'dev', path: 'secret.md' })).toMatch(/no note/);
    const shared = await call(research, 'read_note', { bot: 'dev', path: 'public.md' });
    expect(shared.body).toContain('zebra shared plan');

    const own = await call(research, 'search_memory', { query: 'zebra' });
    expect(own.total).toBe(0);
    const wide = await call(research, 'search_memory', { query: 'zebra', scope: 'shared' });
    expect(wide.results.map((r: any) => `${r.bot}/${r.path}`)).toEqual(['dev/public.md']);
    expect(await callError(research, 'search_memory', { query: 'zebra', scope: 'all' })).toMatch(/main bot and the operator/);

    const all = await call(main, 'search_memory', { query: 'zebra', scope: 'all' });
    expect(all.results.map((r: any) => r.path).sort()).toEqual(['public.md', 'secret.md']);
    expect((await call(main, 'read_note', { bot: 'dev', path: 'secret.md' })).body).toContain('zebra private plan');
  });

  it('writes only to the caller\'s own memory, whatever the arguments say', async () => {
    await call(research, 'write_note', { path: 'mine.md', body: 'research note' });
    expect(existsSync(path.join(daemon.home, 'bots/research/mine.md'))).toBe(true);
    expect(existsSync(path.join(daemon.home, 'bots/dev/mine.md'))).toBe(false);
    expect(await callError(research, 'write_note', { path: 'x.md', body: 'x', bot: 'dev' })).toMatch(/bot|Unrecognized/i);
  });
});

describe('history', () => {
  it('lists versions, diffs any two, and restores an old one as a new commit', async () => {
    await call(dev, 'write_note', { path: 'hist.md', body: 'version one\n' });
    await call(dev, 'write_note', { path: 'hist.md', body: 'version two\n' });
    await call(dev, 'write_note', { path: 'hist.md', body: 'version three\n' });
    const { versions } = await call(dev, 'note_history', { path: 'hist.md' });
    expect(versions.length).toBe(3);
    expect(versions.every((v: any) => v.author === 'dev')).toBe(true);
    const [latest, , oldest] = versions;
    const diff = await call(dev, 'note_diff', { path: 'hist.md', from: oldest.commit, to: latest.commit });
    expect(diff.diff).toContain('-version one');
    expect(diff.diff).toContain('+version three');

    await call(dev, 'restore_note', { path: 'hist.md', version: oldest.commit });
    expect((await call(dev, 'read_note', { path: 'hist.md' })).body).toBe('version one\n');
    const after = await call(dev, 'note_history', { path: 'hist.md' });
    expect(after.versions.length).toBe(4);
    expect(after.versions[0].message).toMatch(/restore hist.md/);
  });
});

describe('facts and journal', () => {
  it('stores facts as readable Markdown with per-key history', async () => {
    await call(dev, 'set_fact', { key: 'user/timezone', value: 'Europe/Berlin' });
    await call(dev, 'set_fact', { key: 'user/timezone', value: 'UTC' });
    await call(dev, 'set_fact', { key: 'limits', value: { cpu: 2, memory_gb: 2 } });
    expect((await call(dev, 'get_fact', { key: 'user/timezone' })).value).toBe('UTC');
    expect((await call(dev, 'get_fact', { key: 'limits' })).value).toEqual({ cpu: 2, memory_gb: 2 });
    const listed = await call(dev, 'list_facts', { prefix: 'user/' });
    expect(listed.facts.map((f: any) => f.key)).toEqual(['user/timezone']);
    expect(readFileSync(path.join(daemon.home, 'bots/dev/facts/user/timezone.md'), 'utf8')).toContain('UTC');
    await eventually(() => git(daemon.home, 'log', '--oneline', '--', 'bots/dev/facts/user/timezone.md').trim().split('\n').length === 2);
    await call(dev, 'delete_fact', { key: 'user/timezone' });
    expect(await callError(dev, 'get_fact', { key: 'user/timezone' })).toMatch(/no fact/);
  });

  it('appends timestamped journal entries to the daily file and reads them back', async () => {
    await call(dev, 'journal_append', { text: 'Decided to use MiniSearch.' });
    await call(dev, 'journal_append', { text: 'Benchmarked it.' });
    const today = new Date().toISOString().slice(0, 10);
    const text = readFileSync(path.join(daemon.home, `bots/dev/journal/${today}.md`), 'utf8');
    expect(text).toMatch(/## \d\d:\d\d:\d\dZ\n\nDecided to use MiniSearch\./);
    const { entries } = await call(dev, 'read_journal', {});
    expect(entries.map((e: any) => e.text)).toEqual(['Decided to use MiniSearch.', 'Benchmarked it.']);
  });
});

describe('files are the truth', () => {
  it('indexes and commits a note a person writes, edits and deletes by hand', async () => {
    const dir = path.join(daemon.home, 'bots/research/handmade');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'by-hand.md');
    writeFileSync(file, '---\ntitle: Written by hand\n---\nThe quokka is a small marsupial.\n');
    await eventually(async () => (await call(research, 'search_memory', { query: 'quokka' })).total === 1);
    await eventually(() => git(daemon.home, 'log', '--format=%an|%s', '--', 'bots/research/handmade/by-hand.md').startsWith('external|'));

    writeFileSync(file, '---\ntitle: Written by hand\n---\nThe wombat digs burrows.\n');
    await eventually(async () => (await call(research, 'search_memory', { query: 'wombat' })).total === 1);
    expect((await call(research, 'search_memory', { query: 'quokka', fuzzy: false })).total).toBe(0);
    // The edit's own commit first: an edit and a delete within one commit window are one commit.
    await eventually(() => git(daemon.home, 'log', '--format=%an', '--', 'bots/research/handmade/by-hand.md').trim().split('\n').length === 2);

    unlinkSync(file);
    await eventually(async () => (await call(research, 'search_memory', { query: 'wombat' })).total === 0);
    await eventually(() => git(daemon.home, 'log', '--format=%an', '--', 'bots/research/handmade/by-hand.md').trim().split('\n').length === 3);
  });

  it('indexes a note with broken frontmatter as text and reports it', async () => {
    const file = path.join(daemon.home, 'bots/research/broken.md');
    writeFileSync(file, '---\ntitle: [unclosed\n---\nplatypus text\n');
    await eventually(async () => (await call(research, 'search_memory', { query: 'platypus' })).total === 1);
    const note = await call(research, 'read_note', { path: 'broken.md' });
    expect(note.problem).toMatch(/broken frontmatter/);
    expect(note.body).toContain('platypus text');
  });
});

describe('bad input changes nothing', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['parent folder', { path: '../escape.md', body: 'x' }, /may not leave/],
    ['absolute path', { path: '/etc/passwd.md', body: 'x' }, /absolute/],
    ['NUL byte', { path: 'a\u0000b.md', body: 'x' }, /NUL/],
    ['not Markdown', { path: 'script.sh', body: 'x' }, /\.md/],
    ['hidden file', { path: '.git/config.md', body: 'x' }, /hidden/],
    ['too large', { path: 'big.md', body: 'x'.repeat(1024 * 1024 + 1) }, /Too big: expected string to have <=1048576 characters at body\./],
    ['unknown field', { path: 'ok.md', body: 'x', author: 'main' }, /Unrecognized|author/i],
    ['wrong type', { path: 'ok.md', body: 42 }, /string/i],
    ['stale version', { path: 'never.md', body: 'x', expected_version: 'abcdef0123456789' }, /does not exist/],
  ];
  for (const [name, args, message] of cases) {
    it(`refuses ${name} with a clear error`, async () => {
      const before = dataFiles(daemon.home);
      expect(await callError(dev, 'write_note', args)).toMatch(message);
      expect(dataFiles(daemon.home)).toEqual(before);
      expect(existsSync(path.join(daemon.home, 'escape.md'))).toBe(false);
    });
  }

  it('refuses reads of unknown bots and bad commit ids', async () => {
    expect(await callError(dev, 'read_note', { bot: 'nobody', path: 'x.md' })).toMatch(/no note/);
    expect(await callError(dev, 'read_note', { bot: '../dev', path: 'x.md' })).toMatch(/not a valid bot id/);
    expect(await callError(dev, 'note_diff', { path: 'hist.md', from: 'HEAD~1' })).toMatch(/not a commit id/);
  });
});

describe('concurrent writers', () => {
  it('lose no update with expected_version: in each round exactly one of them wins, the others are told to read again', async () => {
    const first = await call(dev, 'write_note', { path: 'race.md', body: 'round 0\n' });
    const clients = await Promise.all(Array.from({ length: 5 }, () => httpClient(daemon.url, daemon.tokens.dev)));
    const rounds = 6;
    const winners: string[] = [];
    for (let round = 1; round <= rounds; round++) {
      // Every writer has read the same version before any of them writes.
      const seen = await Promise.all(clients.map((c) => call(c, 'read_note', { path: 'race.md' })));
      expect(new Set(seen.map((n) => n.version)).size).toBe(1);
      const results = await Promise.all(
        clients.map((client, i) =>
          client.callTool({ name: 'write_note', arguments: { path: 'race.md', body: `round ${round} by writer ${i}\n`, expected_version: seen[i].version } }),
        ),
      );
      const won = results.flatMap((r, i) => (r.isError ? [] : [i]));
      expect(won, `round ${round}`).toHaveLength(1);
      for (const [i, result] of results.entries()) {
        if (i === won[0]) continue;
        const text = (result.content as Array<{ text: string }>)[0].text;
        expect(text).toMatch(new RegExp(`^"race\\.md" changed since you read it: it is at version [0-9a-f]+, not ${seen[i].version}\\. Read it again, merge, and retry with the new version\\.$`));
      }
      winners.push(`round ${round} by writer ${won[0]}\n`);
      expect((await call(dev, 'read_note', { path: 'race.md' })).body).toBe(winners.at(-1));
    }
    await Promise.all(clients.map((c) => c.close()));

    // Every version of the note is its own commit in its history, newest first, each holding the winner's text.
    await daemon.roost.history.flush();
    const { versions } = await call(dev, 'note_history', { path: 'race.md' });
    const bodies = ['round 0\n', ...winners].reverse();
    expect(versions).toHaveLength(bodies.length);
    expect(new Set(versions.map((v: any) => v.commit)).size).toBe(bodies.length);
    for (const [i, version] of versions.entries()) {
      expect(version.author).toBe('dev');
      expect(git(daemon.home, 'show', `${version.commit}:bots/dev/race.md`)).toContain(bodies[i]);
    }
    expect(versions.at(-1).message).toMatch(/create race\.md/);
    expect(first.created).toBe(true);
  });
});

describe('reading', () => {
  it('never commits and leaves the work tree as it was', async () => {
    await call(dev, 'write_note', { path: 'quiet.md', body: 'read me' });
    await eventually(() => git(daemon.home, 'status', '--porcelain') === '');
    const commits = git(daemon.home, 'rev-list', '--count', 'HEAD');
    await call(dev, 'read_note', { path: 'quiet.md' });
    await call(dev, 'search_memory', { query: 'read' });
    await call(dev, 'list_notes', { recursive: true });
    await call(dev, 'note_history', { path: 'quiet.md' });
    await call(dev, 'list_facts', {});
    await call(dev, 'read_journal', {});
    await new Promise((r) => setTimeout(r, 100));
    expect(git(daemon.home, 'rev-list', '--count', 'HEAD')).toBe(commits);
    expect(git(daemon.home, 'status', '--porcelain')).toBe('');
  });

  it('serves notes as resources, within the same access rules', async () => {
    await call(dev, 'write_note', { path: 'res/shared note.md', body: 'as a resource', visibility: 'shared' });
    const listed = await dev.listResources();
    const uri = 'roost://bots/dev/notes/res/shared%20note.md';
    expect(listed.resources.map((r) => r.uri)).toContain(uri);
    const read = await research.readResource({ uri });
    expect((read.contents[0] as { text: string }).text).toContain('as a resource');
    await expect(research.readResource({ uri: 'roost://bots/dev/notes/secret.md' })).rejects.toThrow(/no note/);
  });
});
