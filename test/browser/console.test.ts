import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package.js';
import { call, git, httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

/** Debian's chromium (`.ci/run` installs it). Without it the suite is skipped, except in CI where it must run. */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(PACKAGE_ROOT, 'test', 'artifacts');

let daemon: TestDaemon;
let browser: Browser;
let page: Page;
let dev: Client;
let main: Client;
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the console in a browser', () => {
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    daemon = await startTestDaemon();
    dev = await httpClient(daemon.url, daemon.tokens.dev);
    main = await httpClient(daemon.url, daemon.tokens.main);
    await call(main, 'write_note', { path: 'MEMORY.md', title: 'Team memory', body: '# Team memory\n\nWho does what.\n', tags: ['team'] });
    await call(main, 'register_bot', { id: 'fix-flaky-test', kind: 'task', description: 'Find and fix the flaky upload test.' });
    await call(dev, 'write_note', {
      path: 'notes/ops/kube.md',
      title: 'Kubernetes rollout',
      body: 'Roll out with `kubectl rollout`, then watch the dashboards.\n',
      tags: ['ops'],
      type: 'howto',
    });
    // Playwright launches with a fresh temporary profile of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([dev?.close(), main?.close()]);
    await daemon?.destroy();
  });

  it('refuses a wrong token, then logs in with the operator token and lists the bots', async () => {
    await page.goto(daemon.url);
    await page.fill('input[name=token]', 'roost_operator_wrong');
    await page.click('button[type=submit]');
    await page.getByRole('alert').getByText('not a valid token').waitFor();
    await page.fill('input[name=token]', OPERATOR_TOKEN);
    await page.click('button[type=submit]');
    await page.locator('table.bots').waitFor();
    const names = await page.locator('table.bots a.bot-name').allTextContents();
    expect(names).toEqual(['Main', 'fix-flaky-test', 'Dev', 'Monitoring', 'Research']);
    // The task agent sits under the bot that spawned it.
    const taskRow = page.locator('tr', { has: page.locator('a.bot-name', { hasText: 'fix-flaky-test' }) });
    expect(await taskRow.locator('.branch').count()).toBe(1);
    expect(await taskRow.locator('.badge').textContent()).toBe('task');
    expect(await page.evaluate(() => document.cookie)).toBe(''); // the session cookie is HttpOnly
    await shot('overview');
  });

  it('shows a note written by a bot through MCP as it happens', async () => {
    await page.locator('.live.on').waitFor();
    await call(dev, 'write_note', { path: 'notes/live.md', title: 'Live', body: 'Written while the operator watches.' });
    await page.locator('.feed').getByText('dev/notes/live.md').waitFor();
    expect(await page.locator('.feed li').first().textContent()).toContain('dev wrote dev/notes/live.md');
    await page.locator('tr', { hasText: 'Dev' }).locator('td.num').getByText('2 notes').waitFor();
    await shot('live-activity');
  });

  it('opens a note, its history and a diff, and restores an old version', async () => {
    await call(dev, 'write_note', { path: 'notes/plan.md', title: 'Release plan', body: '# Plan\n\nShip on Monday.\n' });
    await daemon.roost.history.flush();
    await call(dev, 'write_note', { path: 'notes/plan.md', body: '# Plan\n\nShip on Friday.\n' });
    await daemon.roost.history.flush();

    await page.click('a.bot-name:text-is("Dev")');
    await page.click('button.folder-name:has-text("notes/")');
    await page.click('a.note-link:has-text("plan.md")');
    await page.locator('article.markdown h1', { hasText: 'Plan' }).waitFor();
    expect(await page.locator('article.markdown').textContent()).toContain('Ship on Friday.');
    expect(await page.locator('.frontmatter').textContent()).toContain('Release plan');
    await shot('note');

    await page.click('a[role=tab]:text-is("History")');
    await page.locator('table.versions tbody tr').nth(1).waitFor();
    expect(await page.locator('table.versions tbody tr').count()).toBe(2);
    await page.locator('table.versions input[type=checkbox]').nth(0).check();
    await page.locator('table.versions input[type=checkbox]').nth(1).check();
    await shot('history');
    await page.click('a:text-is("Compare selected")');
    await page.locator('pre.diff .del', { hasText: 'Ship on Monday.' }).waitFor();
    expect(await page.locator('pre.diff .add').allTextContents()).toContain('+Ship on Friday.');
    await shot('diff');

    await page.click('a[role=tab]:text-is("History")');
    await page.locator('table.versions tbody tr').nth(1).getByRole('button', { name: 'Restore' }).click();
    await page.locator('article.markdown', { hasText: 'Ship on Monday.' }).waitFor();
    expect(readFileSync(path.join(daemon.home, 'bots/dev/notes/plan.md'), 'utf8')).toContain('Ship on Monday.');
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'bots/dev/notes/plan.md')).toMatch(/^dev dev: restore notes\/plan.md to [0-9a-f]{10}/);
    await shot('restored');
  });

  it('edits a note as its bot', async () => {
    await page.click('a[role=tab]:text-is("Edit")');
    await page.fill('textarea[name=body]', '# Plan\n\nShip on Wednesday, after the review.\n');
    await page.fill('input[name=tags]', 'release, plan');
    await shot('edit');
    await page.click('button:text-is("Save")');
    await page.locator('article.markdown', { hasText: 'Ship on Wednesday' }).waitFor();
    const text = readFileSync(path.join(daemon.home, 'bots/dev/notes/plan.md'), 'utf8');
    expect(text).toContain('Ship on Wednesday, after the review.');
    expect(text).toMatch(/tags:\n\s+- release\n\s+- plan/);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'bots/dev/notes/plan.md').trim()).toBe('dev dev: write notes/plan.md');
  });

  it('renders untrusted note content without running any of it', async () => {
    await call(dev, 'write_note', {
      path: 'notes/hostile.md',
      title: 'Hostile',
      body: [
        '# Looks harmless',
        '<script>window.pwned = "script"</script>',
        '<img src="x" onerror="window.pwned = \'onerror\'">',
        '[click me](javascript:window.pwned=\'link\')',
        '<iframe src="https://example.com"></iframe>',
        '<a href="https://example.com/docs">docs</a>',
      ].join('\n\n'),
    });
    await page.goto(`${daemon.url}/#/bots/dev?path=notes/hostile.md`);
    await page.locator('article.markdown h1', { hasText: 'Looks harmless' }).waitFor();
    const article = page.locator('article.markdown');
    expect(await article.locator('script, iframe, [onerror]').count()).toBe(0);
    expect(await article.locator('a', { hasText: 'click me' }).getAttribute('href')).toBeNull();
    await article.locator('a', { hasText: 'click me' }).click();
    expect(await article.locator('a', { hasText: 'docs' }).getAttribute('rel')).toBe('noopener noreferrer');
    expect(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned)).toBeUndefined();
  });

  it('searches all memory with filters and opens a result', async () => {
    await page.click('nav a:text-is("Search")');
    await page.fill('input[name=q]', 'kubernetes');
    await page.selectOption('select[name=bot]', 'dev');
    await page.fill('input[name=tags]', 'ops');
    await page.click('button:text-is("Search")');
    await page.locator('.results h2', { hasText: '1 note' }).waitFor();
    expect(await page.locator('.hits li .mono').first().textContent()).toContain('dev/notes/ops/kube.md');
    await shot('search');
    await page.click('a.hit-title:text-is("Kubernetes rollout")');
    await page.locator('.note-title', { hasText: 'Kubernetes rollout' }).waitFor();
    expect(await page.locator('a.note-link.selected').textContent()).toContain('kube.md');
  });

  it('sends a bot a message and shows it in the bot\'s inbox, which the bot then reads over MCP', async () => {
    await page.goto(`${daemon.url}/#/bots/dev?tab=mail`);
    await page.fill('.send-box input[name=subject]', 'Check the deploy');
    await page.fill('.send-box textarea[name=body]', 'Please check the **deploy** logs.');
    await page.click('.send-box button[type=submit]');
    await page.locator('.send-box .notice', { hasText: 'dev: in its inbox' }).waitFor();
    const row = page.locator('.messages .message', { hasText: 'Check the deploy' });
    await row.waitFor();
    expect(await row.locator('.message-who').textContent()).toBe('operator → dev');
    expect(await row.locator('.badge.status-unread').count()).toBe(1);
    await row.locator('.message-head').click();
    expect(await row.locator('.markdown strong').textContent()).toBe('deploy');
    await shot('mail');
    const inbox = await call(dev, 'read_inbox', {});
    expect(inbox.messages.map((m: any) => [m.from, m.subject, m.body])).toEqual([['operator', 'Check the deploy', 'Please check the **deploy** logs.']]);
    // The bot read it: the console shows it read without a reload.
    await row.locator('.badge.status-read').waitFor();
  });

  it('creates a topic, adds a member, and shows its messages as they are posted', async () => {
    await page.click('nav a[href="#/topics"]');
    await page.fill('.new-topic input[name=name]', 'ops');
    await page.fill('.new-topic input[name=description]', 'Deploys and incidents');
    await page.check('.new-topic input[name=member-dev]');
    await page.click('.new-topic button[type=submit]');
    await page.locator('.topic-page h1', { hasText: '#ops' }).waitFor();
    expect(await page.locator('.member-list a').allTextContents()).toEqual(['dev']);
    await page.selectOption('.add-member select', 'research');
    await page.click('.add-member button');
    await page.locator('.member-list a', { hasText: 'research' }).waitFor();
    expect(await page.locator('.member-list a').allTextContents()).toEqual(['dev', 'research']);
    await daemon.roost.history.flush();
    expect(git(daemon.home, 'log', '-1', '--format=%an %s', '--', 'topics/ops.md').trim()).toBe('research research: subscribe to #ops');

    await call(dev, 'send_message', { to: ['#ops'], subject: 'Deploying 0.2 now', body: 'Rolling out.' });
    await page.locator('.messages .message', { hasText: 'Deploying 0.2 now' }).waitFor();
    expect(await page.locator('.messages .message-who').first().textContent()).toBe('dev → #ops');
    await shot('topic');
  });

  it('shows task agents under whoever spawned them, and cancels one', async () => {
    const spawned = await call(main, 'spawn_agent', { task: 'Survey the backups.', runtime: 'none', deadline: '2h' });
    await page.click('nav a[href="#/agents"]');
    const row = page.locator('table.tasks tr', { has: page.locator('a.bot-name', { hasText: spawned.agent }) });
    await row.locator('.badge.task-running').waitFor();
    expect(await row.locator('td').nth(2).textContent()).toBe('main');
    await shot('agents');
    await row.getByRole('button', { name: 'Cancel' }).click();
    await row.locator('.badge.task-cancelled').waitFor();
    expect(await call(main, 'agent_status', { id: spawned.task })).toMatchObject({ status: 'cancelled', error: 'cancelled by operator' });
    expect(await row.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
  });

  it('lists notes whose frontmatter is broken', async () => {
    writeFileSync(path.join(daemon.home, 'bots/dev/notes/broken.md'), '---\ntitle: [unclosed\n---\nbody\n');
    await daemon.roost.fileEvent('bots/dev/notes/broken.md');
    await page.click('nav a[href="#/problems"]');
    await page.locator('.problems a', { hasText: 'bots/dev/notes/broken.md' }).click();
    await page.locator('.warning', { hasText: 'frontmatter is broken' }).waitFor();
    await shot('problems');
    expect(pageErrors).toEqual([]);
  });
});
