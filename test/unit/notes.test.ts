import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/core/errors.js';
import { bodyOf, frontmatterLength, MAX_FRONTMATTER_BYTES, parseNote, serializeNote } from '../../src/core/notes.js';

/** Keys that broke frontmatter written by other serializers, or that YAML reads specially. */
const TRICKY_KEYS = ['... x', '...', '---', '--- x', '#', '# x', 'a: b', 'a #b', 'a\nb', 'x\r\ny', '\r', '- x', '? x', '&a', '*a', '!t', '%YAML', '@x', '`x', '"', "'", '{', '[', '|', '>', '\t', ' lead', 'trail ', '', '\u2028', '\u0085', '\x00', '\x7f', '\ufeffx', '\ud800', 'é', '__proto__', '<<', 'true', '1', 'null', '~', 'k'.repeat(1100)];
const TRICKY_BODIES = ['', '---', '---\n', '---\na: 1\n---\n', '---js\nx\n---\n', '\n---\n', '--- \r\n---\r\nx', 'no newline at the end'];

const key = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...TRICKY_KEYS));
const value = fc.oneof(fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }), fc.constantFrom(...TRICKY_KEYS, ...TRICKY_BODIES), fc.double(), fc.constant(-0));
const frontmatter = fc.dictionary(key, value, { maxKeys: 8, noNullPrototype: true });
const body = fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...TRICKY_BODIES), fc.string({ unit: fc.constantFrom('-', '\n', '\r', ' ', 'a', ':') }));

describe('serializeNote and parseNote', () => {
  it('read back every key, value and body exactly as written', () => {
    fc.assert(
      fc.property(frontmatter, body, (fm, text) => {
        const parsed = parseNote(serializeNote(fm, text));
        expect(parsed.problem).toBeUndefined();
        expect(parsed.frontmatter).toStrictEqual(fm);
        expect(parsed.body).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it('read back each tricky key as key and as value', () => {
    for (const k of TRICKY_KEYS) {
      const fm = { [k]: k, list: [k, { [k]: k }] };
      const parsed = parseNote(serializeNote(fm, `${k}\n`));
      expect(parsed.frontmatter).toStrictEqual(fm);
      expect(parsed.body).toBe(`${k}\n`);
    }
  });

  it('write no block for no keys, unless the body would read as one', () => {
    expect(serializeNote({}, 'text')).toBe('text');
    expect(serializeNote({ a: undefined }, 'text')).toBe('text');
    expect(parseNote(serializeNote({}, '---\na: 1\n---\nb')).body).toBe('---\na: 1\n---\nb');
  });

  it('refuse frontmatter too big or too deep to read back, with a way out', () => {
    const big = () => serializeNote({ text: 'x'.repeat(MAX_FRONTMATTER_BYTES) }, '');
    expect(big).toThrow(UserError);
    expect(big).toThrow(/more than 65536 bytes of YAML: move long text into the body/);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => serializeNote({ deep }, '')).toThrow(/nests more than 64 levels deep: flatten it/);
  });
});

describe('parseNote', () => {
  it('takes only a first line of exactly --- for frontmatter', () => {
    for (const opening of ['---js', '---coffee', '--- yaml', '----', ' ---', '---x', '\ufeff---']) {
      const text = `${opening}\ntitle: x\n---\nbody`;
      expect(parseNote(text)).toEqual({ frontmatter: {}, body: text });
    }
    expect(parseNote('---  \r\ntitle: x\r\n--- \t\r\nbody').frontmatter).toEqual({ title: 'x' });
    expect(parseNote('---\ntitle: x\n---').body).toBe('');
    // Never closed: no frontmatter at all.
    expect(parseNote('---\ntitle: x\nbody')).toEqual({ frontmatter: {}, body: '---\ntitle: x\nbody' });
  });

  it('keeps YAML timestamps and other YAML 1.1 types as the strings they are', () => {
    const { frontmatter } = parseNote('---\ncreated: 2024-01-02\nwhen: 2024-01-02T03:04:05Z\nyes: on\nt: !!timestamp 2024-01-02\nb: !!binary aGk=\ns: !!set {a}\n---\n');
    expect(frontmatter).toEqual({ created: '2024-01-02', when: '2024-01-02T03:04:05Z', yes: 'on', t: '2024-01-02', b: 'aGk=', s: { a: null } });
  });

  it('reports an alias bomb, a huge block, a second document, a list and bad YAML, in a sentence', () => {
    const bomb = ['---', 'a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) bomb.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
    // Within yaml's alias count, but each alias a long string: bounded by the expanded size.
    const wide = `---\ns: &s ${'y'.repeat(4000)}\nl: [${Array(40).fill('*s').join(', ')}]\n---\n`;
    const cases: Array<[string, RegExp]> = [
      [`${bomb.join('\n')}\n---\nbody`, /aliases could not be expanded/],
      [wide, /with its YAML aliases expanded it is more than 65536 bytes/],
      [`---\nt: ${'x'.repeat(MAX_FRONTMATTER_BYTES)}\n---\n`, /it is 655\d\d bytes, more than the 65536 allowed/],
      ['---\na: 1\n...\nb: 2\n---\n', /second YAML document from line 4/],
      ['---\n- a\n---\n', /it is a list/],
      ['---\njust text\n---\n', /a single value/],
      ['---\ntitle: x\nbad: b: c\n---\n', /line 3 is not valid YAML \(Nested mappings are not allowed in compact mappings\)/],
      ['---\na: *nowhere\n---\n', /not valid YAML|aliases/],
      ['---\n? [a, b]\n: c\n---\n', /not valid YAML/],
      [`---\na: ${'['.repeat(70)}${']'.repeat(70)}\n---\n`, /nests more than 64 levels/],
    ];
    for (const [text, detail] of cases) {
      const parsed = parseNote(text);
      expect(parsed.frontmatter).toEqual({});
      expect(parsed.body).toBe(text);
      expect(parsed.problem).toMatch(/^broken frontmatter: .+; .+[a-z]\.$/);
      expect(parsed.problem).toMatch(detail);
    }
  });

  it('reads a few aliases', () => {
    expect(parseNote('---\nbase: &b {x: 1}\nuse: *b\n---\n').frontmatter).toEqual({ base: { x: 1 }, use: { x: 1 } });
  });
});

describe('bodyOf and frontmatterLength', () => {
  it('find the body where parsing the frontmatter does', () => {
    const notes = [
      '---\ntitle: A note\ntags: [x, y]\n---\n# Heading\n\nText.\n',
      '---\r\ntitle: Windows\r\n---\r\nText',
      '---\n---\nAn empty block',
      '---\ntitle: x\n---\n\nA blank line first',
      '---\ntitle: only a block\n---',
      'No frontmatter\n---\nbut a rule',
      '---\ntitle: never closed\nText',
      '----\nfour dashes are not a block\n---\n',
    ];
    for (const text of notes) expect(bodyOf(text)).toBe(parseNote(text).body);
    expect(frontmatterLength('---\ntitle: [broken\n---\nbody')).toBe('---\ntitle: [broken\n---\n'.length);
  });
});
