import { describe, expect, it } from 'vitest';
import { bodyOf, parseNote } from '../../src/core/notes.js';

describe('bodyOf', () => {
  it('finds the body where parsing the frontmatter does', () => {
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
  });
});
