import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, httpClient, startTestDaemon, type TestDaemon } from '../helpers.js';

// A note shared now may have been private before: another bot sees in its history only the
// versions it could read at the time, never the old bodies, names or neighbours of the rest.

describe('history shows another bot only what it could read then', () => {
  let daemon: TestDaemon;
  /** Every commit of the note, newest first, as its owner sees them. */
  let all: Array<{ commit: string; message: string }>;

  beforeAll(async () => {
    daemon = await startTestDaemon();
    // monitoring's notes are private by default.
    const owner = await httpClient(daemon.url, daemon.tokens.monitoring);
    await call(owner, 'write_note', { path: 'notes/secret-name.md', body: 'launch code 1234\n' });
    await call(owner, 'write_note', { path: 'notes/secret-name.md', body: 'launch code 5678\n' });
    await call(owner, 'move_note', { from: 'notes/secret-name.md', to: 'notes/public.md' });
    // Written together, so they may share one grouped commit whose message names both.
    await Promise.all([
      call(owner, 'write_note', { path: 'notes/public.md', body: 'Nothing to see.\n', visibility: 'shared' }),
      call(owner, 'write_note', { path: 'notes/other-secret.md', body: 'private neighbour\n' }),
    ]);
    await call(owner, 'write_note', { path: 'notes/public.md', body: 'Still nothing.\n', visibility: 'shared' });
    await call(owner, 'write_note', { path: 'notes/public.md', body: 'Private again: launch code 9999\n', visibility: 'private' });
    await call(owner, 'write_note', { path: 'notes/public.md', body: 'Shared for good.\n', visibility: 'shared' });
    all = (await call(owner, 'note_history', { path: 'notes/public.md' })).versions;
    await owner.close();
  });
  afterAll(async () => {
    await daemon.destroy();
  });

  it('lists only the versions that were shared, and names nothing private', async () => {
    expect(all).toHaveLength(7);
    const other = await httpClient(daemon.url, daemon.tokens.research);
    const result = (await other.callTool({ name: 'note_history', arguments: { bot: 'monitoring', path: 'notes/public.md' } })) as CallToolResult;
    const { versions } = result.structuredContent as { versions: Array<{ commit: string; message: string }> };
    // Newest first: the three shared versions, not the private first two, the move, or the private relapse.
    expect(versions.map((v) => v.commit)).toEqual([all[0].commit, all[2].commit, all[3].commit]);
    expect(versions.map((v) => v.message)).toEqual(['monitoring: write notes/public.md', 'monitoring: write notes/public.md', 'monitoring: write notes/public.md']);
    const wire = JSON.stringify(result);
    for (const leak of ['secret-name', 'other-secret', 'launch code', all[4].commit, all[5].commit, all[6].commit, all[1].commit]) expect(wire).not.toContain(leak);

    // Paging counts the versions the caller may see.
    const page = await call(other, 'note_history', { bot: 'monitoring', path: 'notes/public.md', limit: 1, offset: 1 });
    expect(page.versions.map((v: { commit: string }) => v.commit)).toEqual([all[2].commit]);
    await other.close();
  });

  it('compares only versions that were shared', async () => {
    const other = await httpClient(daemon.url, daemon.tokens.research);
    // The note was private at this path in these versions: refused.
    for (const hidden of [all[1], all[4]]) {
      for (const args of [{ from: hidden.commit }, { from: all[3].commit, to: hidden.commit }, { from: hidden.commit, to: all[0].commit }]) {
        const error = await callError(other, 'note_diff', { bot: 'monitoring', path: 'notes/public.md', ...args });
        expect(error).toMatch(/was not shared at version .+: take a commit id from note_history\.$/);
        expect(error).not.toMatch(/launch code|secret/);
      }
    }
    // Here the note was private under another name, so the path compared did not exist: nothing of it shows.
    for (const older of [all[5], all[6]]) {
      const { diff } = await call(other, 'note_diff', { bot: 'monitoring', path: 'notes/public.md', from: older.commit });
      expect(diff).not.toMatch(/launch code|secret/);
      expect(diff).toContain('+Shared for good.');
    }
    const { diff } = await call(other, 'note_diff', { bot: 'monitoring', path: 'notes/public.md', from: all[3].commit });
    expect(diff).toContain('-Nothing to see.');
    expect(diff).toContain('+Shared for good.');
    await other.close();
  });

  it('shows the owner and the main bot every version', async () => {
    for (const bot of ['monitoring', 'main']) {
      const client = await httpClient(daemon.url, daemon.tokens[bot]);
      const { versions } = await call(client, 'note_history', { bot: 'monitoring', path: 'notes/public.md' });
      expect(versions.map((v: { commit: string }) => v.commit)).toEqual(all.map((v) => v.commit));
      const { diff } = await call(client, 'note_diff', { bot: 'monitoring', path: 'notes/public.md', from: all[5].commit, to: all[4].commit });
      expect(diff).toContain('launch code 5678');
      await client.close();
    }
  });
});
