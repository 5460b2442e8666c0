import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { call, dataFiles, git, httpClient, random, startTestDaemon, type TestDaemon } from '../helpers.js';

// Every call here is invalid: the daemon must answer each with an error that names what is wrong
// (the field or the value) or says what to do, and change nothing at all in the data root.
const CALLS = Number(process.env.FUZZ_CALLS ?? 10_000);

/** What a bad call's error must mention: a field (quoted, or as a word when it is long enough), a value, or a phrase. */
type Blame = { field: string } | { value: string } | RegExp;
const field = (name: string): Blame => ({ field: name });
const value = (text: unknown): Blame => ({ value: String(text) });

interface BadCall {
  name: string;
  args: unknown;
  /** Any one of these must be in the error. */
  blame: Blame[];
}

/** One connection's identity and the setup's ids it can refer to. */
interface Caller {
  bot: string;
  /** An active bot other than this one. */
  other: string;
  /** A message this bot sent: in its sent mail, never in its inbox. */
  sentId: string;
  /** A message in this bot's inbox (a thread it takes part in). */
  inboxId: string;
  /** A task this bot may not see or touch. */
  foreignTask: string;
  /** Tools this connection lists. */
  tools: Set<string>;
}

type Gen = (r: () => number, c: Caller) => BadCall | null;
const pick = <T>(r: () => number, list: T[]): T => list[Math.floor(r() * list.length)];

const badPaths: unknown[] = [
  '../escape.md', '/abs.md', 'a/../../b.md', 'x\u0000.md', 'x.txt', 'x.md.exe', '.hidden.md', 'dir/.git/x.md', '', '   ',
  'C:\\x.md', 'a\\b.md', `${'x'.repeat(600)}.md`, `${'é'.repeat(150)}.md`, 'a\u202Eb.md', 'a\u200Bb.md', 'a\ud800.md',
  '.md', 'dir/.md', ' lead.md', 'trail /x.md', 'a/./b.md', 'tab\there.md', 'nl\nx.md', 42, null, {}, [], true,
];
const badIds: unknown[] = ['../dev', 'Dev', '', 'a b', 'x'.repeat(65), '-dash', 'dev/x', 7, null];
const badKeys: unknown[] = ['', '../x', 'a b', '/lead', 'trail/', 'x'.repeat(101), 'a//b', '.hidden', 'ü', 3];
const badDates: unknown[] = ['yesterday', '2026-13-01', '2026-02-30x', '', 20260101, '2026/01/01'];
const weird = ['\u0000', '\ud800', '\u202E', '💥'.repeat(3), 'x'.repeat(70_000)];
/** Cursors no tool ever returns (a well-formed id that is not there would just be a position). */
const badCursors: unknown[] = ['../x', 'a b', '', '-lead', 'x'.repeat(200), 5, null];
const badTopicNames: unknown[] = ['Bad Name', '../x', 'x'.repeat(65), '#', '', 'a/b', 'é', '-dash', 9, null];
const badDeadlines = ['tomorrow', 'soon', '-1h', '0s', '1w', '8d', '1999-01-01T00:00:00Z', '2026-13-01', ''];

/** The path, key or id itself when it can be quoted back, else the field that holds it. */
const pathBlame = (p: unknown, name = 'path'): Blame[] => [field(name), ...(typeof p === 'string' && p.length <= 200 && !/[\u0000-\u001f]/.test(p) ? [value(p)] : [])];

const memory: Gen[] = [
  (r) => { const p = pick(r, badPaths); return { name: 'write_note', args: { path: p, body: 'x' }, blame: pathBlame(p) }; },
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: pick(r, [42, null, {}, ['x'], true]) }, blame: [field('body')] }),
  (r) => { const k = pick(r, ['bot', 'author', 'as', 'owner', '__proto__x']); return { name: 'write_note', args: { path: 'ok.md', body: 'x', [k]: 'main' }, blame: [field(k)] }; },
  () => ({ name: 'write_note', args: { path: 'big.md', body: 'x'.repeat(1024 * 1024 + 10) }, blame: [/limit/i, field('body')] }),
  (r) => { const k = pick(r, ['title', 'created', 'updated', 'visibility']); return { name: 'write_note', args: { path: 'ok.md', body: 'x', frontmatter: { [k]: 'x' } }, blame: [field(k)] }; },
  (r) => ({ name: 'write_note', args: { path: 'existing.md', body: 'x', expected_version: pick(r, ['0000000000000000', 'new', 'stale']) }, blame: [field('expected_version'), /exists|changed since|read it again/i] }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', visibility: pick(r, ['public', 'SHARED', 1]) }, blame: [field('visibility')] }),
  (r) => ({ name: 'write_note', args: { path: 'ok.md', body: 'x', tags: pick(r, ['a,b', 5, [1, 2], [{}]]) }, blame: [field('tags')] }),
  (r) => ({ name: 'write_note', args: pick(r, [{}, { path: 'ok.md' }, { body: 'x' }]), blame: [field('path'), field('body')] }),
  (r) => ({ name: 'write_note', args: pick(r, [null, 'string', []]), blame: [/object|arguments/i] }),
  (r) => { const p = pick(r, badPaths); return { name: 'edit_note', args: { path: p, operation: 'append', text: 'x' }, blame: pathBlame(p) }; },
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: pick(r, ['append', 'prepend', 'replace_section', 'find_replace']) }, blame: [field('text'), field('find'), field('heading'), field('replace')] }),
  (r) => ({ name: 'edit_note', args: { path: 'existing.md', operation: pick(r, ['delete', 'APPEND', '', 3]), text: 'x' }, blame: [field('operation')] }),
  (r) => { const f = pick(r, ['', 'not there', ...weird]); return { name: 'edit_note', args: { path: 'existing.md', operation: 'find_replace', find: f, replace: 'y' }, blame: [field('find')] }; },
  (r) => { const h = pick(r, ['Nope', '## Nope', ...weird]); return { name: 'edit_note', args: { path: 'existing.md', operation: 'replace_section', heading: h, text: 'y' }, blame: [field('heading'), ...pathBlame(h, 'heading')] }; },
  (r) => ({ name: 'edit_note', args: { path: 'missing.md', operation: 'append', text: pick(r, weird) }, blame: [value('missing.md'), field('text')] }),
  (r) => { const p = pick(r, badPaths); return { name: 'read_note', args: { path: p }, blame: pathBlame(p) }; },
  (r) => { const b = pick(r, badIds); return { name: 'read_note', args: { path: 'existing.md', bot: b }, blame: pathBlame(b, 'bot') }; },
  (r) => ({ name: 'read_note', args: { path: 'existing.md', from_line: pick(r, [0, -1, 1.5, 'one', 99]) }, blame: [field('from_line')] }),
  () => ({ name: 'read_note', args: { path: 'existing.md', from_line: 3, to_line: 1 }, blame: [field('to_line'), field('from_line')] }),
  (r) => ({ name: 'read_note', args: { path: 'secret.md', bot: pick(r, ['main', 'research', 'nobody']) }, blame: [value('secret.md')] }),
  (r) => { const p = pick(r, [...badPaths, 'missing.md']); return { name: 'delete_note', args: { path: p }, blame: pathBlame(p) }; },
  (r) => { const p = pick(r, badPaths); return { name: 'move_note', args: { from: p, to: 'ok.md' }, blame: pathBlame(p, 'from') }; },
  (r) => { const p = pick(r, [...badPaths, 'existing.md']); return { name: 'move_note', args: { from: 'existing.md', to: p }, blame: pathBlame(p, 'to') }; },
  (r) => { const f = pick(r, ['../', '/etc', 'a/../..', '.git', '\u0000']); return { name: 'list_notes', args: { folder: f }, blame: pathBlame(f, 'folder') }; },
  (r) => ({ name: 'list_notes', args: { limit: pick(r, [0, -5, 501, 1.5, 'ten']) }, blame: [field('limit')] }),
  (r) => ({ name: 'list_notes', args: { offset: pick(r, [-1, 'zero', 0.5]) }, blame: [field('offset')] }),
  (r) => ({ name: 'search_memory', args: { query: pick(r, [5, null, 'x'.repeat(1001)]) }, blame: [field('query')] }),
  (r, c) => ({ name: 'search_memory', args: { query: 'x', scope: pick(r, c.bot === 'main' ? ['everything', 'ALL', 1] : ['all', 'everything', 'ALL', 1]) }, blame: [field('scope')] }),
  (r) => { const d = pick(r, badDates); return { name: 'search_memory', args: { query: 'x', updated_after: d }, blame: pathBlame(d, 'updated_after') }; },
  (r) => ({ name: 'search_memory', args: { query: 'x', limit: pick(r, [0, 101, -1]) }, blame: [field('limit')] }),
  (r) => { const b = pick(r, badIds.filter((b) => typeof b !== 'string' || b === '')); return { name: 'search_memory', args: { query: 'x', bot: b }, blame: pathBlame(b, 'bot') }; },
  (r) => { const p = pick(r, badPaths); return { name: 'note_history', args: { path: p }, blame: pathBlame(p) }; },
  (r) => ({ name: 'note_history', args: { path: 'existing.md', limit: pick(r, [0, 201]) }, blame: [field('limit')] }),
  (r) => { const v = pick(r, ['HEAD', 'HEAD~1', '--output=/tmp/x', 'zz', '', 'a'.repeat(41)]); return { name: 'note_diff', args: { path: 'existing.md', from: v }, blame: [field('from'), ...pathBlame(v, 'from')] }; },
  (r) => { const v = pick(r, ['HEAD', '-p', '0000000', 'xyz']); return { name: 'restore_note', args: { path: 'existing.md', version: v }, blame: [field('version'), value(v)] }; },
  (r) => { const p = pick(r, badPaths); return { name: 'restore_note', args: { path: p, version: 'abcdef0' }, blame: pathBlame(p) }; },
  (r) => { const k = pick(r, badKeys); return { name: 'set_fact', args: { key: k, value: 1 }, blame: pathBlame(k, 'key') }; },
  () => ({ name: 'set_fact', args: { key: 'ok' }, blame: [field('value')] }),
  (r) => { const k = pick(r, [...badKeys, 'missing']); return { name: 'get_fact', args: { key: k }, blame: pathBlame(k, 'key') }; },
  (r) => { const k = pick(r, [...badKeys, 'missing']); return { name: 'delete_fact', args: { key: k }, blame: pathBlame(k, 'key') }; },
  (r) => ({ name: 'list_facts', args: { limit: pick(r, [0, 501]) }, blame: [field('limit')] }),
  (r) => ({ name: 'journal_append', args: { text: pick(r, ['', '   \n ', 5, null]) }, blame: [field('text'), /entry is empty: write/] }),
  (r) => { const d = pick(r, badDates); return { name: 'read_journal', args: { from: d }, blame: pathBlame(d, 'from') }; },
  () => ({ name: 'read_journal', args: { from: '2026-02-01', to: '2026-01-01' }, blame: [field('from'), field('to')] }),
  () => ({ name: 'read_journal', args: { from: '2020-01-01', to: '2026-01-01' }, blame: [/days|range|at most/i] }),
];

const registry: Gen[] = [
  (r) => { const id = pick(r, [...badIds, 'nobody']); return { name: 'get_bot', args: { id }, blame: pathBlame(id, 'id') }; },
  (_r, c) => ({ name: 'update_bot', args: { id: c.other, description: 'taken over' }, blame: [/only your own profile/] }),
  () => ({ name: 'update_bot', args: {}, blame: [/nothing to change|pass at least one field/i] }),
  (r) => ({ name: 'update_bot', args: { status: pick(r, ['retired', 'active']) }, blame: [field('status')] }),
  (r, c) => {
    // The main bot may retire others: for it only a bot that does not exist is a bad call.
    const id = c.bot === 'main' ? 'nobody' : pick(r, ['main', c.other, 'nobody']);
    return { name: 'retire_bot', args: { id }, blame: [value(id), /ask one of them|cannot be retired/] };
  },
  (r) => ({ name: 'list_bots', args: { kind: pick(r, ['boss', 1, null]) }, blame: [field('kind')] }),
  (r, c) => {
    const name = pick(r, c.bot === 'main' ? ['spawn_everything', 'write-note', 'WRITE_NOTE'] : ['register_bot', 'spawn_everything', 'write-note', 'WRITE_NOTE']);
    return { name, args: { id: 'x' }, blame: [value(name)] };
  },
  () => ({ name: '', args: {}, blame: [/tool.*not found/i] }),
  (r, c) => {
    if (c.bot !== 'main') return null;
    const id = pick(r, ['dev', 'operator', '../x', 'Dev', '']);
    return { name: 'register_bot', args: { id }, blame: pathBlame(id, 'id') };
  },
];

const messaging: Gen[] = [
  (_r, c) => ({ name: 'send_message', args: { to: [], body: 'x' }, blame: [field('to')] }),
  (r, c) => { const to = pick(r, ['nobody', 'Dev', '../dev', '#nope', 'session:agent:dev:x', 'session:nonsense']); return { name: 'send_message', args: { to: [c.other, to], body: 'x' }, blame: [value(to)] }; },
  () => ({ name: 'send_message', args: { to: ['#ops', '#general'], body: 'x' }, blame: [/one topic/] }),
  (r) => ({ name: 'send_message', args: { to: pick(r, [[''], ['  ']]), body: 'x' }, blame: [field('to')] }),
  () => ({ name: 'send_message', args: { to: ['#closed'], body: 'x' }, blame: [value('#closed')] }),
  (_r, c) => (['main', 'dev'].includes(c.bot) ? null : { name: 'send_message', args: { to: ['#ops'], body: 'x' }, blame: [value('#ops'), /subscribe_topic/] }),
  (r, c) => ({ name: 'send_message', args: { to: [c.other], body: pick(r, ['', '   \n\t ']) }, blame: [field('body')] }),
  (_r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x'.repeat(64 * 1024 + 1) }, blame: [field('body'), /bytes/] }),
  (r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x', subject: pick(r, ['two\nlines', 'x'.repeat(201), 5]) }, blame: [field('subject')] }),
  (r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x', idempotency_key: pick(r, ['', 'x'.repeat(201), 'a\nb', 7]) }, blame: [field('idempotency_key')] }),
  (r, c) => { const id = pick(r, ['nope', '../x', 'a b', c.foreignTask]); return { name: 'send_message', args: { to: [c.other], body: 'x', reply_to: id }, blame: [field('reply_to'), value(id)] }; },
  (r, c) => { const t = pick(r, ['a b', '../x', '-lead', 'x'.repeat(161)]); return { name: 'send_message', args: { to: [c.other], body: 'x', thread: t }, blame: [field('thread')] }; },
  (_r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x', thread: 'other-thread', reply_to: c.inboxId }, blame: [value('other-thread'), /omit "thread"/] }),
  (r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x', priority: pick(r, ['urgent!', 'HIGH', 1, null]) }, blame: [field('priority')] }),
  (r, c) => ({ name: 'send_message', args: { to: [c.other], body: 'x', ack_required: pick(r, ['yes', 1]) }, blame: [field('ack_required')] }),
  (r, c) => ({ name: 'send_message', args: { to: pick(r, [c.other, 42, [42], [null], {}]), body: 'x' }, blame: [field('to')] }),
  (r, c) => { const k = pick(r, ['from', 'sender', 'as', 'bot']); return { name: 'send_message', args: { to: [c.other], body: 'x', [k]: 'main' }, blame: [field(k)] }; },
  (_r, c) => (c.bot === 'dev' ? { name: 'send_message', args: { to: ['research'], body: 'a different body', idempotency_key: 'fuzz-key' }, blame: [value('fuzz-key')] } : null),
  (r) => ({ name: 'read_inbox', args: { status: pick(r, ['read', 'ALL', 'acked', 1]) }, blame: [field('status')] }),
  (r) => { const cur = pick(r, badCursors); return { name: 'read_inbox', args: { cursor: cur }, blame: [field('cursor')] }; },
  (r) => ({ name: 'read_inbox', args: { limit: pick(r, [0, 101, 1.5, -1, 'all']) }, blame: [field('limit')] }),
  (r) => ({ name: 'read_inbox', args: { peek: pick(r, ['yes', 1, null]) }, blame: [field('peek')] }),
  (r) => { const s = pick(r, badDates.filter((d) => d !== '2026/01/01')); return { name: 'read_inbox', args: { since: s }, blame: [field('since')] }; },
  (r) => ({ name: 'read_inbox', args: { priority: pick(r, ['x', 'HIGH', 3]) }, blame: [field('priority')] }),
  (r) => ({ name: 'read_inbox', args: { from: pick(r, [5, ['dev'], null]) }, blame: [field('from')] }),
  (r) => { const k = pick(r, ['bot', 'inbox', 'mark_read']); return { name: 'read_inbox', args: { [k]: 'main' }, blame: [field(k)] }; },
  (r) => ({ name: 'ack_messages', args: { ids: pick(r, [[], 'x', [5], Array.from({ length: 501 }, (_, i) => `m${i}`), null]) }, blame: [field('ids')] }),
  (r, c) => { const id = pick(r, ['nope', '../x', c.sentId]); return { name: 'ack_messages', args: { ids: [c.inboxId, id] }, blame: [value(id)] }; },
  () => ({ name: 'ack_messages', args: {}, blame: [field('ids')] }),
  (r, c) => { const t = pick(r, ['nope', '../x', c.foreignTask]); return { name: 'get_thread', args: { thread: t }, blame: [value(t)] }; },
  (r, c) => ({ name: 'get_thread', args: { thread: c.inboxId, limit: pick(r, [0, 201, 'ten']) }, blame: [field('limit')] }),
  (r) => ({ name: 'get_thread', args: pick(r, [{}, { thread: 5 }, { thread: null }]), blame: [field('thread')] }),
  (r) => ({ name: 'search_messages', args: { query: pick(r, ['', '   ', 5, null]) }, blame: [field('query')] }),
  () => ({ name: 'search_messages', args: {}, blame: [field('query')] }),
  (r) => ({ name: 'search_messages', args: { query: 'x', folder: pick(r, ['trash', 'INBOX', 2]) }, blame: [field('folder')] }),
  (r) => ({ name: 'search_messages', args: { query: 'x', limit: pick(r, [0, 51]) }, blame: [field('limit')] }),
  (r) => ({ name: 'search_messages', args: { query: 'x', offset: pick(r, [-1, 0.5, 'first']) }, blame: [field('offset')] }),
  (r) => ({ name: 'search_messages', args: { query: 'x', since: pick(r, ['yesterday', '2026-13-01', '']) }, blame: [field('since')] }),
  (r) => ({ name: 'wait_for_messages', args: { timeout_seconds: pick(r, [0, 0.001, 0.5, -1, 61, 3600, 'soon', null]) }, blame: [field('timeout_seconds')] }),
  (r) => ({ name: 'wait_for_messages', args: { timeout_seconds: 1, since: pick(r, ['yesterday', '2026-13-01', '']) }, blame: [field('since')] }),
  (r) => ({ name: 'wait_for_messages', args: { timeout_seconds: 1, priority: pick(r, ['x', 'HIGH']) }, blame: [field('priority')] }),
  (r) => ({ name: 'wait_for_messages', args: { timeout_seconds: 1, limit: pick(r, [0, 101]) }, blame: [field('limit')] }),
  (r) => { const k = pick(r, ['status', 'cursor', 'timeout']); return { name: 'wait_for_messages', args: { timeout_seconds: 1, [k]: 'x' }, blame: [field(k)] }; },
];

const topics: Gen[] = [
  (r) => { const n = pick(r, badTopicNames); return { name: 'create_topic', args: { name: n }, blame: [field('name'), ...pathBlame(n, 'topic name')] }; },
  (r) => { const n = pick(r, ['ops', '#ops', 'closed']); return { name: 'create_topic', args: { name: n }, blame: [value(n.replace('#', ''))] }; },
  (r) => { const m = pick(r, ['nobody', 'Dev', '../x']); return { name: 'create_topic', args: { name: 'fresh', members: ['dev', m] }, blame: [value(m)] }; },
  (r) => ({ name: 'create_topic', args: { name: 'fresh', members: pick(r, ['dev', [5], null]) }, blame: [field('members')] }),
  (r) => ({ name: 'create_topic', args: { name: 'fresh', post_policy: pick(r, ['everyone', 'MEMBERS', 0]) }, blame: [field('post_policy')] }),
  (r) => ({ name: 'create_topic', args: { name: 'fresh', retention_days: pick(r, [0, -3, 1.5, 'week', null]) }, blame: [field('retention_days')] }),
  (r) => ({ name: 'create_topic', args: { name: 'fresh', description: pick(r, [5, ['x'], {}]) }, blame: [field('description')] }),
  (r) => { const k = pick(r, ['created_by', 'owner', 'archived']); return { name: 'create_topic', args: { name: 'fresh', [k]: 'main' }, blame: [field(k)] }; },
  (r) => { const t = pick(r, ['nope', '#nope', '../x', 'Bad Name']); return { name: 'update_topic', args: { topic: t, description: 'x' }, blame: [value(t.replace(/^#/, ''))] }; },
  (_r, c) => (c.bot === 'main' ? null : { name: 'update_topic', args: { topic: 'ops', description: 'taken over' }, blame: [value('ops'), /ask one of them/] }),
  (r) => { const m = pick(r, ['nobody', 'Dev']); return { name: 'update_topic', args: { topic: 'ops', members: ['main', m] }, blame: [value(m), value('ops')] }; },
  (r) => ({ name: 'update_topic', args: { topic: 'ops', retention_days: pick(r, [0, -1, 2.5, 'forever']) }, blame: [field('retention_days'), value('ops')] }),
  (r) => ({ name: 'update_topic', args: { topic: 'ops', post_policy: pick(r, ['nobody', '']) }, blame: [field('post_policy')] }),
  (r) => ({ name: 'update_topic', args: { topic: 'ops', archived: pick(r, ['no', 0, null]) }, blame: [field('archived')] }),
  (r) => ({ name: 'update_topic', args: pick(r, [{}, { description: 'x' }, { topic: 5 }]), blame: [field('topic')] }),
  (r) => { const t = pick(r, ['nope', '#nope', '../x']); return { name: 'archive_topic', args: { topic: t }, blame: [value(t.replace(/^#/, ''))] }; },
  (_r, c) => (c.bot === 'main' ? null : { name: 'archive_topic', args: { topic: 'closed' }, blame: [value('closed')] }),
  (r) => ({ name: 'archive_topic', args: pick(r, [{}, { topic: null }, { topic: ['ops'] }]), blame: [field('topic')] }),
  (r) => { const t = pick(r, ['nope', '#nope', '../x', 'closed', '#closed']); return { name: 'subscribe_topic', args: { topic: t }, blame: [value(t.replace(/^#/, ''))] }; },
  (r) => ({ name: 'subscribe_topic', args: pick(r, [{}, { topic: 5 }, { topic: 'ops', bot: 'dev' }]), blame: [field('topic'), field('bot')] }),
  (r) => { const t = pick(r, ['nope', '#nope', '../x']); return { name: 'unsubscribe_topic', args: { topic: t }, blame: [value(t.replace(/^#/, ''))] }; },
  (_r, c) => (c.bot === 'dev' ? { name: 'unsubscribe_topic', args: { topic: 'dev' }, blame: [value('dev'), /update_bot/] } : null),
  (r) => ({ name: 'unsubscribe_topic', args: pick(r, [{}, { topic: null }, { topic: 'ops', bot: 'dev' }]), blame: [field('topic'), field('bot')] }),
  (r) => { const t = pick(r, ['nope', '#nope', '../x']); return { name: 'topic_history', args: { topic: t }, blame: [value(t.replace(/^#/, ''))] }; },
  (r) => ({ name: 'topic_history', args: { topic: 'ops', limit: pick(r, [0, 101, 'ten']) }, blame: [field('limit')] }),
  (r) => ({ name: 'topic_history', args: pick(r, [{}, { topic: 5 }]), blame: [field('topic')] }),
];

const spawn: Gen[] = [
  (r) => ({ name: 'spawn_agent', args: { task: pick(r, ['', 5, null]), runtime: 'none' }, blame: [field('task')] }),
  () => ({ name: 'spawn_agent', args: { runtime: 'none' }, blame: [field('task')] }),
  (r) => ({ name: 'spawn_agent', args: { task: 'x', runtime: pick(r, ['docker', 'NONE', '', 1]) }, blame: [field('runtime')] }),
  (r) => ({ name: 'spawn_agent', args: { task: 'x', runtime: 'none', cleanup: pick(r, ['trash', 'ARCHIVE', 0]) }, blame: [field('cleanup')] }),
  (r) => { const d = pick(r, badDeadlines); return { name: 'spawn_agent', args: { task: 'x', runtime: 'none', deadline: d }, blame: [field('deadline')] }; },
  () => ({ name: 'spawn_agent', args: { task: 'x', runtime: 'none', wait: true }, blame: [field('wait')] }),
  (r) => ({ name: 'spawn_agent', args: { task: 'x', runtime: 'none', wait: pick(r, ['yes', 1]) }, blame: [field('wait')] }),
  () => ({ name: 'spawn_agent', args: { task: 'x', runtime: 'openclaw' }, blame: [/gateway/i] }),
  () => ({ name: 'spawn_agent', args: { task: 'x', runtime: 'command' }, blame: [/command/] }),
  (r) => { const k = pick(r, ['parent', 'token', 'id', 'bot']); return { name: 'spawn_agent', args: { task: 'x', runtime: 'none', [k]: 'main' }, blame: [field(k)] }; },
  (r, c) => { const b = pick(r, ['nobody', 'Dev', '../x', c.bot]); return { name: 'assign_task', args: { bot: b, task: 'x' }, blame: [value(b), /yourself/] }; },
  (r, c) => ({ name: 'assign_task', args: { bot: c.other, task: pick(r, ['', 5, null]) }, blame: [field('task')] }),
  (r, c) => { const d = pick(r, badDeadlines); return { name: 'assign_task', args: { bot: c.other, task: 'x', deadline: d }, blame: [field('deadline')] }; },
  (r) => ({ name: 'assign_task', args: pick(r, [{}, { task: 'x' }, { bot: 5, task: 'x' }]), blame: [field('bot')] }),
  (r) => ({ name: 'complete_task', args: { result: pick(r, ['', 5, null]) }, blame: [field('result')] }),
  () => ({ name: 'complete_task', args: {}, blame: [field('result')] }),
  (r, c) => { const t = pick(r, ['nope', '../x', c.foreignTask]); return { name: 'complete_task', args: { task: t, result: 'x' }, blame: [value(t)] }; },
  (r) => ({ name: 'complete_task', args: { result: 'x', outcome: pick(r, ['maybe', 'DONE', 1]) }, blame: [field('outcome')] }),
  (r) => ({ name: 'complete_task', args: { result: 'x', keep: pick(r, ['notes.md', [5], null]) }, blame: [field('keep')] }),
  (r, c) => { const id = pick(r, ['nope', '../x', '', c.foreignTask]); return { name: 'agent_status', args: { id }, blame: id === '' ? [/""/, field('id')] : [value(id)] }; },
  (r) => ({ name: 'agent_status', args: pick(r, [{}, { id: 5 }, { id: null }]), blame: [field('id')] }),
  (r, c) => { const id = pick(r, ['nope', '../x', c.foreignTask]); return { name: 'cancel_agent', args: { id }, blame: [value(id)] }; },
  (r) => ({ name: 'cancel_agent', args: pick(r, [{}, { id: 5 }, { task: 'x' }]), blame: [field('id'), field('task')] }),
];

const generators: Gen[] = [...memory, ...registry, ...messaging, ...topics, ...spawn];
const SETS = { memory, registry, messaging, topics, spawn };

/** Zod's issue keys are not field names: leave them out before looking for one. */
const ISSUE_KEYS = /"(code|path|message|expected|received|keys|values|origin|format|minimum|maximum|inclusive|input|pattern|errors)":/g;

function blames(text: string, blame: Blame[]): boolean {
  const plain = text.replace(ISSUE_KEYS, '');
  return blame.some((b) => {
    if (b instanceof RegExp) return b.test(text);
    // An empty or blank value can only be named quoted.
    if ('value' in b) return plain.includes(b.value.trim() === '' ? `"${b.value}"` : b.value);
    const name = b.field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const quoted = [`"${b.field}"`, `\`${b.field}\``, `'${b.field}'`].some((q) => plain.includes(q));
    // Zod's own sentences end with the field's path: "… received number at ids[0]".
    if (quoted || new RegExp(`\\bat ${name}(\\[|\\.|,|\\n|$)`).test(plain)) return true;
    // Long or snake_case names also count as plain words ("the subject has…"); "to" or "id" only quoted.
    return (b.field.length >= 4 || b.field.includes('_')) && new RegExp(`(^|[^\\w])${name}([^\\w]|$)`, 'i').test(plain);
  });
}

/** Every file under the data root but git's objects and the search snapshots, with size and time: equal listings mean nothing was written. */
function state(home: string): string[] {
  const roost = path.join(home, '.roost');
  const own = readdirSync(roost, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(home, path.join(e.parentPath, e.name)))
    .filter((f) => f.startsWith('.roost/tokens/') || f.startsWith('.roost/mail/') || f === '.roost/operator.token')
    .map((f) => {
      const s = statSync(path.join(home, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });
  return [...dataFiles(home), ...own].sort();
}

let daemon: TestDaemon;
const clients: Array<{ client: Client; caller: Caller }> = [];

beforeAll(async () => {
  daemon = await startTestDaemon();
  const connect = (token: string) => httpClient(daemon.url, token);
  const [dev, research, monitoring, main] = await Promise.all(['dev', 'research', 'monitoring', 'main'].map((b) => connect(daemon.tokens[b])));
  // Topics: "ops" for its members main and dev only (made by main), "closed" archived.
  await call(main, 'create_topic', { name: 'ops', members: ['main', 'dev'], post_policy: 'members' });
  await call(main, 'create_topic', { name: 'closed' });
  await call(main, 'archive_topic', { topic: 'closed' });
  // A task agent on runtime none, and a task assigned to research: both main's.
  const spawned = await call(main, 'spawn_agent', { task: 'Sit still while others send nonsense.', runtime: 'none' });
  const agent = await connect(spawned.token);
  const assigned = await call(main, 'assign_task', { bot: 'research', task: 'Wait for the end of the fuzz.' });
  const byBot: Record<string, Client> = { dev, research, monitoring, main, [spawned.agent]: agent };
  // Each bot writes a note and sends one message; main's reaches everyone.
  const sent: Record<string, string> = {};
  for (const [bot, client] of Object.entries(byBot)) {
    await call(client, 'write_note', { path: 'existing.md', body: 'an existing note' });
    const to = bot === 'main' ? ['dev', 'research', 'monitoring', spawned.agent] : ['main'];
    sent[bot] = (await call(client, 'send_message', { to, body: `setup message from ${bot}` })).id;
  }
  await call(dev, 'send_message', { to: ['research'], body: 'the first use of a key', idempotency_key: 'fuzz-key' });
  const others: Record<string, string> = { dev: 'research', research: 'dev', monitoring: 'dev', main: 'dev', [spawned.agent]: 'main' };
  const foreign: Record<string, string> = { dev: spawned.task, research: spawned.task, monitoring: spawned.task, main: 'nobody-task', [spawned.agent]: assigned.task };
  // Two connections for dev, one for each other bot.
  const connections: Array<[string, Client]> = [...Object.entries(byBot), ['dev', await connect(daemon.tokens.dev)]];
  for (const [bot, client] of connections) {
    const tools = new Set((await client.listTools()).tools.map((t) => t.name));
    const inboxId = bot === 'main' ? sent.dev : sent.main;
    clients.push({ client, caller: { bot, other: others[bot], sentId: sent[bot], inboxId, foreignTask: foreign[bot], tools } });
  }
  await daemon.roost.history.flush();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.client.close()));
  await daemon?.destroy();
});

it(`answers ${CALLS} bad calls to every toolset, from several bots, with errors that say what is wrong, never crashes, and writes nothing`, { timeout: 300_000 }, async () => {
  const before = state(daemon.home);
  const head = git(daemon.home, 'rev-parse', 'HEAD').trim();
  const unclear: string[] = [];
  const perSet = Object.fromEntries(Object.keys(SETS).map((k) => [k, 0])) as Record<keyof typeof SETS, number>;
  const setOf = new Map(Object.entries(SETS).flatMap(([k, gens]) => gens.map((g) => [g, k as keyof typeof SETS] as const)));
  const callers = new Set<string>();
  let made = 0;
  await Promise.all(
    clients.map(async ({ client, caller }, i) => {
      const r = random(1000 + i);
      for (let n = i; n < CALLS; n += clients.length) {
        let gen: Gen;
        let bad: BadCall | null;
        do {
          gen = pick(r, generators);
          bad = gen(r, caller);
        } while (!bad);
        const { name, args } = bad;
        // A tool this bot's connection does not list is refused by name.
        const blame = caller.tools.has(name) ? bad.blame : [...bad.blame, value(name)];
        made++;
        perSet[setOf.get(gen)!]++;
        callers.add(caller.bot);
        let text: string;
        try {
          const result = (await client.callTool({ name, arguments: args as Record<string, unknown> })) as CallToolResult;
          if (!result.isError) {
            unclear.push(`${caller.bot}: ${name} ${JSON.stringify(args).slice(0, 120)} succeeded`);
            continue;
          }
          text = result.content.map((p) => (p.type === 'text' ? p.text : '')).join('');
        } catch (error) {
          // A protocol-level error (e.g. arguments that are not an object) is a refusal too, and must be as clear.
          text = (error as Error).message;
        }
        if (/internal error|could not complete|\[object Object\]/i.test(text) || !blames(text, blame)) {
          unclear.push(`${caller.bot}: ${name} ${JSON.stringify(args).slice(0, 120)} -> ${text.slice(0, 300)}`);
        }
      }
    }),
  );
  expect(unclear.slice(0, 20)).toEqual([]);
  expect(made).toBeGreaterThanOrEqual(CALLS);
  expect([...callers].length).toBe(5);
  for (const [set, count] of Object.entries(perSet)) expect(count, set).toBeGreaterThan(CALLS / 40);

  // Still alive and well, for every connection.
  for (const { client } of clients) expect((await call(client, 'read_note', { path: 'existing.md' })).body).toBe('an existing note');
  await daemon.roost.history.flush();
  expect(state(daemon.home)).toEqual(before);
  // And no commit: a refusal that wrote and then undid its files would show here.
  expect(git(daemon.home, 'log', '--format=%an: %s', `${head}..HEAD`)).toBe('');
});
