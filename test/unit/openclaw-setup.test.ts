import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tokens } from '../../src/core/tokens.js';
import { parseJson5 } from '../../src/openclaw/json5.js';
import { PLUGIN_DIR } from '../../src/openclaw/plugin.js';
import { setupOpenClaw } from '../../src/openclaw/setup.js';
import { tempDir } from '../helpers.js';

describe('the JSON5 parser', () => {
  it('reads what OpenClaw and people write: comments, trailing commas, bare keys, single quotes, hex, Infinity, line continuations', () => {
    const text = `// OpenClaw's config
{
  gateway: { port: 0x4965, mode: 'local', }, /* inline */
  "quoted key": [1, +2, -.5, 3., 1e3, Infinity, -Infinity,],
  multi: 'one \\
two',
  escapes: "\\x41\\u0042\\t\\0",
  $dollar_key: null, ok: true, no: false,
}
`;
    expect(parseJson5(text)).toEqual({
      gateway: { port: 0x4965, mode: 'local' },
      'quoted key': [1, 2, -0.5, 3, 1000, Infinity, -Infinity],
      multi: 'one two',
      escapes: 'AB\t\0',
      $dollar_key: null,
      ok: true,
      no: false,
    });
    expect(Number.isNaN(parseJson5('NaN'))).toBe(true);
  });

  it('refuses what is not JSON5, saying where', () => {
    expect(() => parseJson5('{ a: 1 b: 2 }')).toThrow(/expected "," or "}" at line 1, column 8/);
    expect(() => parseJson5('{\n  a: "open\n}')).toThrow(/unterminated string at line 2/);
    expect(() => parseJson5('{ a: 1 } x')).toThrow(/unexpected "x"/);
    expect(() => parseJson5('/* never closed')).toThrow(/unterminated comment/);
    expect(() => parseJson5('{ a: tru }')).toThrow(/unexpected "t"/);
  });

  it('keeps a "__proto__" key as data, changing no prototype', () => {
    const parsed = parseJson5('{ "__proto__": { polluted: true } }') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((parsed as { polluted?: boolean }).polluted).toBeUndefined();
  });
});

describe('roost setup openclaw', () => {
  function fixture() {
    const dir = tempDir('roost-setup-');
    const home = path.join(dir, 'roost');
    const botsDir = path.join(dir, 'bots');
    mkdirSync(botsDir, { recursive: true });
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(botsDir, 'main.md'), '---\nid: main\nkind: main\n---\nThe main bot.\n');
    writeFileSync(path.join(botsDir, 'coder.md'), '---\nid: coder\nkind: specialist\nopenclaw: { agent: dev }\n---\nBound to dev already.\n');
    writeFileSync(path.join(botsDir, 'ops.md'), '---\nid: ops\nkind: specialist\n---\nNot bound yet.\n');
    const configPath = path.join(dir, 'openclaw', 'openclaw.json');
    mkdirSync(path.dirname(configPath), { recursive: true });
    writeFileSync(
      configPath,
      `{
  // written by OpenClaw
  gateway: { mode: 'local', port: 18789 },
  agents: { entries: { dev: { workspace: '/w/dev' }, ops: {}, research: {}, 'Bad Id': {} } },
  plugins: { allow: ['telegram'], entries: { roost: { config: { tools: 'full' } } } },
}
`,
    );
    return { home, botsDir, configPath, url: 'http://127.0.0.1:7777' };
  }

  it('gives every agent a bot and a 0600 token file, and writes the plugin entry after a backup; a second run changes nothing', async () => {
    const options = fixture();
    const original = readFileSync(options.configPath, 'utf8');
    const first = await setupOpenClaw({ ...options, dryRun: false });
    expect(first.changes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bound bot ops to OpenClaw agent ops/),
        expect.stringMatching(/^made bot research for OpenClaw agent research/),
        expect.stringMatching(/^skipped OpenClaw agent "Bad Id"/),
        expect.stringMatching(/^wrote a new token of bot coder to .*dev\.token \(mode 0600\)$/),
        expect.stringMatching(/^backed up /),
      ]),
    );
    expect(readFileSync(`${options.configPath}.before-roost`, 'utf8')).toBe(original);
    const config = JSON.parse(readFileSync(options.configPath, 'utf8'));
    const tokenDir = path.join(path.dirname(options.configPath), 'roost');
    expect(config.gateway).toEqual({ mode: 'local', port: 18789 });
    expect(config.plugins.allow).toEqual(['telegram', 'memory-core', 'roost']);
    expect(config.plugins.load.paths).toEqual([PLUGIN_DIR]);
    expect(config.plugins.entries.roost).toEqual({
      enabled: true,
      config: {
        tools: 'full',
        url: 'http://127.0.0.1:7777',
        agents: Object.fromEntries(['dev', 'ops', 'research'].map((a) => [a, { tokenFile: path.join(tokenDir, `${a}.token`) }])),
      },
    });
    const tokens = new Tokens(path.join(options.home, '.roost'));
    for (const [agent, bot] of [['dev', 'coder'], ['ops', 'ops'], ['research', 'research']]) {
      const file = path.join(tokenDir, `${agent}.token`);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(await tokens.verify(readFileSync(file, 'utf8').trim())).toEqual({ operator: false, bot });
    }
    expect(readFileSync(path.join(options.botsDir, 'ops.md'), 'utf8')).toBe('---\nopenclaw: { agent: ops }\nid: ops\nkind: specialist\n---\nNot bound yet.\n');
    expect(readFileSync(path.join(options.botsDir, 'research.md'), 'utf8')).toContain('openclaw: { agent: research }');

    const written = readFileSync(options.configPath, 'utf8');
    const devToken = readFileSync(path.join(tokenDir, 'dev.token'), 'utf8');
    const second = await setupOpenClaw({ ...options, dryRun: false });
    expect(second.diff).toBe('');
    expect(second.changes).toEqual([expect.stringMatching(/^skipped OpenClaw agent "Bad Id"/), expect.stringMatching(/^nothing to change/)]);
    expect(readFileSync(options.configPath, 'utf8')).toBe(written);
    expect(readFileSync(path.join(tokenDir, 'dev.token'), 'utf8')).toBe(devToken);
  });

  it('with dryRun shows the diff and what it would do, and changes nothing', async () => {
    const options = fixture();
    const original = readFileSync(options.configPath, 'utf8');
    const report = await setupOpenClaw({ ...options, dryRun: true });
    expect(report.diff).toContain('+      "roost"');
    expect(report.diff).toContain('--- a/openclaw.json');
    expect(report.changes).toEqual(expect.arrayContaining([expect.stringMatching(/^made bot research/)]));
    expect(readFileSync(options.configPath, 'utf8')).toBe(original);
    expect(() => statSync(path.join(options.botsDir, 'research.md'))).toThrow();
    expect(() => statSync(path.join(path.dirname(options.configPath), 'roost'))).toThrow();
  });

  it('makes a missing plugins.allow with the plugins the config already turns on, and never replaces an earlier backup', async () => {
    const options = fixture();
    writeFileSync(options.configPath, `{ agents: { entries: { dev: {} } }, plugins: { entries: { telegram: { enabled: true }, voice: { enabled: false } } } }\n`);
    const original = readFileSync(options.configPath, 'utf8');
    const first = await setupOpenClaw({ ...options, dryRun: false });
    expect(first.changes).toEqual(expect.arrayContaining([expect.stringMatching(/^made plugins\.allow, which OpenClaw then holds to: telegram, memory-core, roost;/)]));
    expect(JSON.parse(readFileSync(options.configPath, 'utf8')).plugins.allow).toEqual(['telegram', 'memory-core', 'roost']);

    const afterFirst = readFileSync(options.configPath, 'utf8');
    writeFileSync(options.configPath, afterFirst.replace('"dev": {}', '"dev": {}, "ops": {}'));
    const changed = readFileSync(options.configPath, 'utf8');
    await setupOpenClaw({ ...options, dryRun: false });
    expect(readFileSync(`${options.configPath}.before-roost`, 'utf8')).toBe(original);
    expect(readFileSync(`${options.configPath}.before-roost.1`, 'utf8')).toBe(changed);
  });

  it('refuses a config that is not JSON5, saying where', async () => {
    const options = fixture();
    writeFileSync(options.configPath, '{ agents: { entries: { dev: {} } ');
    await expect(setupOpenClaw({ ...options, dryRun: false })).rejects.toThrow(/is not valid JSON5 \(expected "," or "}" at line 1, column 34\): fix it/);
  });
});
