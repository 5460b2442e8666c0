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

  it('registers a bot, whose token is shown once and works over MCP', async () => {
    await page.goto(`${daemon.url}/#/`);
    await page.click('.register-bot summary');
    await page.fill('.register-bot input[name=id]', 'reviewer');
    await page.fill('.register-bot input[name=description]', 'Reviews pull requests.');
    await page.click('.register-bot button[type=submit]');
    const token = await page.locator('.token-once input').inputValue();
    expect(token).toMatch(/^roost_reviewer_[0-9a-f]{48}$/);
    await page.locator('table.bots a.bot-name', { hasText: 'reviewer' }).waitFor();
    await shot('register-bot');
    const reviewer = await httpClient(daemon.url, token);
    expect((await call(reviewer, 'whoami')).bot).toBe('reviewer');
    await reviewer.close();
    await page.click('.token-once button:text-is("Done")');
    expect(await page.content()).not.toContain(token);
    expect(existsSync(path.join(daemon.home, 'registry/reviewer.md'))).toBe(true);
  });

  it('edits a bot, sets its tools and quota, rotates its token and retires it', async () => {
    await page.goto(`${daemon.url}/#/bots/reviewer?tab=manage`);
    await page.fill('form[aria-label=Profile] input[name=name]', 'Code reviewer');
    await page.fill('form[aria-label=Profile] input[name=description]', 'Reviews every pull request.');
    await page.click('form[aria-label=Profile] button[type=submit]');
    await page.locator('.bot-header h1', { hasText: 'Code reviewer' }).waitFor();
    expect(readFileSync(path.join(daemon.home, 'registry/reviewer.md'), 'utf8')).toContain('name: Code reviewer');

    await page.fill('form[aria-label="Tools and quota"] input[name=tools]', 'memory, whoami');
    await page.fill('form[aria-label="Tools and quota"] input[name=quota]', '1');
    await page.click('form[aria-label="Tools and quota"] button[type=submit]');
    await page.locator('.notice', { hasText: 'Tools and quota saved' }).waitFor();
    const entry = readFileSync(path.join(daemon.home, 'registry/reviewer.md'), 'utf8');
    expect(entry).toContain('memory_quota_bytes: 1048576');
    expect(entry).toMatch(/tools:\n\s+- memory\n\s+- whoami/);
    await page.locator('.bot-header [role=meter][aria-valuemax="1048576"]').waitFor();

    await page.click('button:text-is("Rotate token")');
    const token = await page.locator('.token-once input').inputValue();
    await shot('manage-bot');
    const reviewer = await httpClient(daemon.url, token);
    expect((await reviewer.listTools()).tools.map((t) => t.name)).not.toContain('send_message');
    await reviewer.close();

    await page.click('button:text-is("Retire reviewer")');
    await page.locator('.bot-header .badge.retired').waitFor();
    await expect(httpClient(daemon.url, token)).rejects.toThrow();
  });

  it('assigns a bot a task with a brief, and shows the brief, the task file and the result', async () => {
    await page.goto(`${daemon.url}/#/bots/research?tab=manage`);
    await page.fill('form.assign-task textarea[name=brief]', 'Compare the two queue designs and recommend one. <img src="x" onerror="window.pwned = \'brief\'">');
    await page.click('form.assign-task button[type=submit]');
    const link = page.locator('.notice a');
    await link.waitFor();
    const id = (await link.textContent())!;
    expect(existsSync(path.join(daemon.home, `tasks/${id}.md`))).toBe(true);
    await link.click();
    await page.locator('.task-details .brief', { hasText: 'Compare the two queue designs' }).waitFor();
    expect(await page.locator('.task-details .task-file').textContent()).toBe(`tasks/${id}.md`);
    // A brief is shown as the text it is, never as HTML.
    expect(await page.locator('.task-details img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: string }).pwned)).toBeUndefined();
    const research = await httpClient(daemon.url, daemon.tokens.research);
    await call(research, 'complete_task', { task: id, result: 'Take the log-based queue.' });
    await research.close();
    await page.locator('.task-details .task-result', { hasText: 'Take the log-based queue.' }).waitFor();
    await shot('task-details');
  });

  it('spawns a task agent whose token is shown once', async () => {
    await page.goto(`${daemon.url}/#/agents`);
    await page.click('.spawn-task summary');
    await page.fill('.spawn-task textarea[name=brief]', 'Count the open incidents.');
    await page.selectOption('.spawn-task select[name=runtime]', 'none');
    await page.click('.spawn-task button[type=submit]');
    const token = await page.locator('.token-once input').inputValue();
    const agent = await httpClient(daemon.url, token);
    const { bot } = await call(agent, 'whoami');
    expect(bot).toMatch(/^task-/);
    await page.click('.token-once button:text-is("Done")');
    await page.locator('.task-details .brief', { hasText: 'Count the open incidents.' }).waitFor();
    const id = await call(agent, 'agent_status', { id: bot });
    expect(existsSync(path.join(daemon.home, `tasks/${id.task}.md`))).toBe(true);
    await agent.close();
  });

  it('posts to a members-only topic the operator is no member of', async () => {
    await page.goto(`${daemon.url}/#/topics`);
    await page.fill('.new-topic input[name=name]', 'incidents');
    await page.selectOption('.new-topic select[name=post_policy]', 'members');
    await page.check('.new-topic input[name=member-dev]');
    await page.click('.new-topic button[type=submit]');
    await page.locator('.topic-page h1', { hasText: '#incidents' }).waitFor();
    await page.fill('.send-box textarea[name=body]', 'Disk full on db-1.');
    await page.click('.send-box button[type=submit]');
    await page.locator('.send-box .notice', { hasText: 'dev: in its inbox' }).waitFor();
    await page.locator('.messages .message', { hasText: 'Disk full on db-1.' }).waitFor();
    const history = await call(dev, 'topic_history', { topic: 'incidents' });
    expect(history.messages.map((m: any) => [m.from, m.body])).toEqual([['operator', 'Disk full on db-1.']]);
    await shot('topic-post');
  });

  it('searches messages in every mailbox and opens the thread', async () => {
    await page.click('nav a:text-is("Search")');
    await page.click('a[role=tab]:text-is("Messages")');
    await page.fill('input[name=q]', 'deploy');
    await page.click('button:text-is("Search")');
    await page.locator('.results h2', { hasText: 'for “deploy”' }).waitFor();
    // Each message once, though it sits in the sender's and every recipient's mailbox.
    expect(await page.locator('a.hit-title').allTextContents()).toEqual(expect.arrayContaining(['Check the deploy', 'Deploying 0.2 now']));
    expect(await page.locator('a.hit-title').count()).toBe(2);
    await shot('search-messages');
    await page.click('a.hit-title:text-is("Check the deploy")');
    await page.locator('.thread .message', { hasText: 'Check the deploy' }).waitFor();
  });

  it('keeps the search box in step with the URL', async () => {
    await page.goto(`${daemon.url}/#/search?q=kubernetes`);
    await page.locator('.results h2', { hasText: 'for “kubernetes”' }).waitFor();
    await page.evaluate(() => (location.hash = '#/search?q=plan'));
    await page.locator('.results h2', { hasText: 'for “plan”' }).waitFor();
    expect(await page.locator('input[name=q]').inputValue()).toBe('plan');
    await page.goBack();
    await page.locator('.results h2', { hasText: 'for “kubernetes”' }).waitFor();
    expect(await page.locator('input[name=q]').inputValue()).toBe('kubernetes');
  });

  it('expands the folder of a note opened while the tree is shown', async () => {
    await page.goto(`${daemon.url}/#/bots/dev`);
    await page.locator('button.folder-name', { hasText: 'notes/' }).waitFor();
    expect(await page.locator('button.folder-name', { hasText: 'ops/' }).count()).toBe(0);
    await page.evaluate(() => (location.hash = '#/bots/dev?path=notes/ops/kube.md'));
    await page.locator('a.note-link.selected', { hasText: 'kube.md' }).waitFor();
  });

  it('charts activity per bot and per topic over the day and the week, and memory against the quota', async () => {
    await page.goto(`${daemon.url}/#/`);
    const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
    const day = await call(operator, 'team_activity', { window: 'day' });
    await operator.close();
    const devTotal = day.bots.find((b: any) => b.bot === 'dev').messages.concat(day.bots.find((b: any) => b.bot === 'dev').notes).reduce((a: number, b: number) => a + b, 0);
    expect(devTotal).toBeGreaterThan(0);
    await page.locator(`.activity-chart .chart-row[data-name="dev"][data-total="${devTotal}"]`).waitFor();
    await page.locator('.activity-chart .chart-row[data-name="#incidents"][data-total="1"]').waitFor();
    expect(await page.locator('.activity-chart .chart-row[data-name="dev"] rect').count()).toBe(24);
    await page.click('.activity-chart button:text-is("week")');
    await page.locator('.activity-chart .count', { hasText: 'last 7 days' }).waitFor();
    expect(await page.locator('.activity-chart .chart-row[data-name="dev"] rect').count()).toBe(7);
    const meter = page.locator('tr', { has: page.locator('a.bot-name:text-is("Dev")') }).locator('[role=meter]');
    expect(Number(await meter.getAttribute('aria-valuenow'))).toBe(daemon.roost.index.catalogue.bytes('dev'));
    expect(Number(await meter.getAttribute('aria-valuemax'))).toBe(daemon.roost.memory.quotaOf('dev'));
    await page.locator('.activity-chart').screenshot({ path: path.join(ARTIFACTS, 'activity-chart.png') });
  });

  it('speaks to a person on an error page, not in tool calls', async () => {
    await page.goto(`${daemon.url}/#/bots/nobody`);
    const error = page.locator('.bot-page .error');
    await error.waitFor();
    expect(await error.textContent()).toContain('There is no bot "nobody"');
    expect(await error.textContent()).not.toMatch(/call |list_bots/);
  });

  it('fits a 360 px screen: navigation reachable, no sideways scrolling', async () => {
    const narrow = await browser.newContext({ viewport: { width: 360, height: 740 }, storageState: await page.context().storageState() });
    const phone = await narrow.newPage();
    phone.on('pageerror', (error) => pageErrors.push(error.message));
    for (const [hash, name] of [['#/', 'overview-360'], ['#/bots/dev?tab=manage', 'manage-360'], ['#/agents', 'agents-360'], ['#/search?q=plan', 'search-360'], ['#/topics/ops', 'topic-360']]) {
      await phone.goto(`${daemon.url}/${hash}`);
      await phone.locator('.content .card').first().waitFor();
      await phone.waitForLoadState('networkidle');
      for (const label of ['Overview', 'Search', 'Problems']) {
        const box = (await phone.locator('.topbar nav a', { hasText: label }).boundingBox())!;
        expect(box.x + box.width, `${label} on ${hash}`).toBeLessThanOrEqual(360);
      }
      const logout = (await phone.locator('button:text-is("Log out")').boundingBox())!;
      expect(logout.x + logout.width, `Log out on ${hash}`).toBeLessThanOrEqual(360);
      if (hash === '#/') {
        // Whatever sticks out past the right edge, named, so a failure says what to fix.
        const wide = await phone.evaluate(() =>
          [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 360.5).map((e) => `${e.tagName}.${e.className}`),
        );
        expect(wide).toEqual([]);
        expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      }
      await phone.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    }
    await phone.click('nav a:text-is("Problems")');
    await phone.locator('.problems').waitFor();
    await narrow.close();
  });

  it('lists notes whose frontmatter is broken', async () => {
    writeFileSync(path.join(daemon.home, 'bots/dev/notes/broken.md'), '---\ntitle: [unclosed\n---\nbody\n');
    await daemon.roost.fileEvent('bots/dev/notes/broken.md');
    await page.click('nav a[href="#/problems"]');
    await page.locator('.problems a', { hasText: 'bots/dev/notes/broken.md' }).click();
    await page.locator('.warning', { hasText: 'frontmatter is broken' }).waitFor();
    await page.click('nav a[href="#/problems"]');
    const problem = (await page.locator('.problems tr', { hasText: 'bots/dev/notes/broken.md' }).locator('td').nth(1).textContent())!;
    expect(problem).toMatch(/^broken frontmatter: line \d+ is not valid YAML \(.+\); correct it, or remove the block\.$/);
    await shot('problems');
    expect(pageErrors).toEqual([]);
  });
});
