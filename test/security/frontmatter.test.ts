import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Tokens } from '../../src/core/tokens.js';
import { call, type DaemonProcess, eventually, httpClient, startDaemonProcess, startTestDaemon, tempDir, type TestDaemon } from '../helpers.js';

// Every frontmatter and body a bot sends, and every file placed by hand, is hostile: it is read as
// YAML data by one bounded parser, never run, and never lets a bot write above its note's frontmatter.

/** A first line `---js` made the old parser run the block as JavaScript: this one writes `marker` if it ever runs. */
function payload(marker: string): string {
  return `---js\n(require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'), { title: 'pwned' })\n---\n`;
}

/** A few hundred bytes of YAML whose aliases expand to 9^9 values. */
function aliasBomb(): string {
  const lines = ['---', 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
  for (let i = 1; i < 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  return `${lines.join('\n')}\n---\nThe bomb's body.\n`;
}

describe('frontmatter is data, never code', () => {
  let daemon: TestDaemon;
  let marker: string;

  beforeAll(async () => {
    daemon = await startTestDaemon();
  });
  afterAll(async () => {
    await daemon.destroy();
  });
  afterEach(() => {
    rmSync(marker, { force: true });
  });

  it('runs nothing from a key that once broke the frontmatter followed by a prepended ---js block, now or after a restart', async () => {
    marker = path.join(tempDir('roost-marker-'), 'ran');
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    // Step 1: a key that the old serializer wrote as a line YAML reads as the end of the document.
    await call(dev, 'write_note', { path: 'notes/chain.md', body: 'Plain text.\n', frontmatter: { '... x': 1 } });
    // Step 2: text at the top of the file, where the old code put a prepend on a note with broken frontmatter.
    await call(dev, 'edit_note', { path: 'notes/chain.md', operation: 'prepend', text: payload(marker) });
    await dev.close();

    // The note is indexed on every write and at every start: restart to give the payload every chance.
    await daemon.stop();
    daemon = await startTestDaemon({ home: daemon.home });
    const again = await httpClient(daemon.url, daemon.tokens.dev);
    const note = await call(again, 'read_note', { path: 'notes/chain.md' });
    await again.close();

    expect(existsSync(marker)).toBe(false);
    expect(note.problem).toBeUndefined();
    expect(note.frontmatter['... x']).toBe(1);
    expect(note.frontmatter.title).toBeUndefined();
    expect(note.body).toBe(`${payload(marker)}Plain text.\n`);
    const text = readFileSync(path.join(daemon.home, 'bots/dev/notes/chain.md'), 'utf8');
    expect(text.split('\n')[0]).toBe('---');
    expect(text.endsWith(`---\n${payload(marker)}Plain text.\n`)).toBe(true);
  });

  it('runs nothing from a ---js block placed by hand, and serves it as the body', async () => {
    marker = path.join(tempDir('roost-marker-'), 'ran');
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    mkdirSync(path.join(daemon.home, 'bots/dev/notes'), { recursive: true });
    writeFileSync(path.join(daemon.home, 'bots/dev/notes/by-hand.md'), `${payload(marker)}quokka\n`);
    await eventually(async () => (await call(dev, 'search_memory', { query: 'quokka' })).total === 1);
    const note = await call(dev, 'read_note', { path: 'notes/by-hand.md' });
    await dev.close();

    expect(existsSync(marker)).toBe(false);
    expect(note.frontmatter).toEqual({});
    expect(note.body).toBe(`${payload(marker)}quokka\n`);
  });

  it('never puts an edit above the frontmatter', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    const dir = path.join(daemon.home, 'bots/dev/edits');
    mkdirSync(dir, { recursive: true });
    const broken = '---\ntitle: [unclosed\n---\n';
    writeFileSync(path.join(dir, 'broken.md'), `${broken}Body.\n`);
    writeFileSync(path.join(dir, 'bare.md'), 'No frontmatter.\n');
    await eventually(async () => (await call(dev, 'list_notes', { folder: 'edits' })).notes.length === 2);

    // Broken frontmatter: its raw block stays on top, byte for byte; the edit goes below it.
    await call(dev, 'edit_note', { path: 'edits/broken.md', operation: 'prepend', text: '---\nvisibility: shared\n---\n' });
    expect(readFileSync(path.join(dir, 'broken.md'), 'utf8')).toBe(`${broken}---\nvisibility: shared\n---\nBody.\n`);
    const read = await call(dev, 'read_note', { path: 'edits/broken.md' });
    expect(read.problem).toMatch(/^broken frontmatter: .+\.$/);

    // No frontmatter: Roost adds one, and the prepended text comes after it.
    await call(dev, 'edit_note', { path: 'edits/bare.md', operation: 'prepend', text: '---\nvisibility: shared\n---' });
    const bare = await call(dev, 'read_note', { path: 'edits/bare.md' });
    expect(bare.frontmatter.visibility).toBeUndefined();
    expect(bare.frontmatter.updated).toEqual(expect.any(String));
    expect(bare.body).toBe('---\nvisibility: shared\n---\nNo frontmatter.\n');
    await dev.close();
  });

  it('reports what is wrong with a broken frontmatter in a full sentence', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    const dir = path.join(daemon.home, 'bots/dev/broken');
    mkdirSync(dir, { recursive: true });
    const cases: Record<string, [string, RegExp]> = {
      'yaml.md': ['---\ntitle: x\nbad: b: c\n---\n', /line 3 is not valid YAML/],
      'list.md': ['---\n- a\n- b\n---\n', /list/],
      'big.md': [`---\nt: ${'x'.repeat(70 * 1024)}\n---\n`, /bytes/],
      'two.md': ['---\na: 1\n...\nb: 2\n---\n', /second YAML document/],
    };
    for (const [file, [text]] of Object.entries(cases)) writeFileSync(path.join(dir, file), `${text}body\n`);
    for (const [file, [, detail]] of Object.entries(cases)) {
      const note = await eventually(() => call(dev, 'read_note', { path: `broken/${file}`, from_line: 1, to_line: 1_000_000 }));
      expect(note.problem).toMatch(/^broken frontmatter: .+[a-z)]\.$/);
      expect(note.problem).toMatch(detail);
      expect(note.body).toBe(`${cases[file][0]}body\n`);
    }
    await dev.close();
  });

  it('reads back exactly every frontmatter and body a bot writes', async () => {
    const dev = await httpClient(daemon.url, daemon.tokens.dev);
    const owned = new Set(['title', 'tags', 'type', 'created', 'updated', 'visibility', 'source']);
    // The longest key write_note takes is 200 characters (its schema refuses longer ones).
    const key = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('... x', '---', '--- x', '#', 'a: b', 'a\nb', '\ufeffx', '<<', '? x', '- y', '\ud800x', 'k'.repeat(200)));
    const frontmatter = fc.dictionary(
      // A key "__proto__" never reaches Roost: the tool's input schema drops it (the unit test covers it).
      key.filter((k) => !owned.has(k) && k !== '__proto__'),
      fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }),
      { maxKeys: 6, noNullPrototype: true },
    );
    const body = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('---\na: 1\n---\n', '---js\nx\n---\n', '---', '\n---\n'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(frontmatter, body, async (fm, text) => {
        const notePath = `props/n${n++}.md`;
        await call(dev, 'write_note', { path: notePath, body: text, frontmatter: fm });
        const note = await call(dev, 'read_note', { path: notePath, from_line: 1, to_line: 1_000_000 });
        expect(note.problem).toBeUndefined();
        const { created, updated, ...rest } = note.frontmatter;
        expect(rest).toStrictEqual(JSON.parse(JSON.stringify(fm)));
        expect(typeof created).toBe('string');
        expect(typeof updated).toBe('string');
        expect(note.body).toBe(text);
      }),
      { numRuns: 60 },
    );
    await dev.close();
  });
});

describe('YAML alias bombs', () => {
  let home: string;
  let daemon: DaemonProcess | undefined;
  let token: string;
  /** A small heap: a daemon that expanded the bomb would run out of it and die. */
  const ENV = { NODE_OPTIONS: '--max-old-space-size=192' };

  beforeAll(async () => {
    home = tempDir();
    token = await new Tokens(path.join(home, '.roost')).issue('dev');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  /** read_note through a real client: the whole answer, and its size on the wire. */
  async function readNote(url: string, notePath: string): Promise<{ note: Record<string, any>; bytes: number }> {
    const dev = await httpClient(url, token);
    const result = (await dev.callTool({ name: 'read_note', arguments: { path: notePath } })) as CallToolResult;
    await dev.close();
    expect(result.isError).toBeFalsy();
    return { note: result.structuredContent as Record<string, any>, bytes: JSON.stringify(result).length };
  }

  it('keeps a bomb a bot writes out of the frontmatter', async () => {
    daemon = await startDaemonProcess(home, ENV);
    const dev = await httpClient(daemon.url, token);
    await call(dev, 'write_note', { path: 'notes/bomb.md', body: 'Plain text.\n', frontmatter: { '... x': 1 } });
    await call(dev, 'edit_note', { path: 'notes/bomb.md', operation: 'prepend', text: aliasBomb() });
    await call(dev, 'write_note', { path: 'notes/bomb2.md', body: aliasBomb() });
    await dev.close();

    for (const file of ['notes/bomb.md', 'notes/bomb2.md']) {
      const { note, bytes } = await readNote(daemon.url, file);
      expect(note.problem).toBeUndefined();
      expect(note.body.startsWith(aliasBomb())).toBe(true);
      expect(bytes).toBeLessThan(10_000);
    }
  });

  it('reports a bomb placed by hand as a problem, answers small, and starts again with it', async () => {
    mkdirSync(path.join(home, 'bots/dev/notes'), { recursive: true });
    writeFileSync(path.join(home, 'bots/dev/notes/placed-before.md'), aliasBomb());
    daemon = await startDaemonProcess(home, ENV);
    writeFileSync(path.join(home, 'bots/dev/notes/placed-while-running.md'), aliasBomb());

    for (const file of ['notes/placed-before.md', 'notes/placed-while-running.md']) {
      const { note, bytes } = await eventually(() => readNote(daemon!.url, file));
      expect(note.problem).toMatch(/^broken frontmatter: .*alias.*\.$/);
      expect(note.body).toBe(aliasBomb());
      expect(bytes).toBeLessThan(10_000);
    }
    const dev = await httpClient(daemon.url, token);
    await eventually(async () => (await call(dev, 'search_memory', { query: 'bomb' })).total >= 2);
    await dev.close();

    // Both bombs are still there at the next start, which must work as well.
    await daemon.stop();
    daemon = await startDaemonProcess(home, ENV);
    const { note } = await readNote(daemon.url, 'notes/placed-before.md');
    expect(note.problem).toMatch(/alias/);
    expect(daemon.output()).not.toMatch(/heap|FATAL/i);
  });
});
