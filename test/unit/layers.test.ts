import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/package.js';

/**
 * Imports run one way: cli → daemon → http → mcp → resources → tools → core; the adapters (openclaw, runtimes, embeddings)
 * implement core's ports and import only core (the plugin builder also reads the tool list).
 * `package` and `protocol` are leaves that every layer may use.
 */
const MAY_IMPORT: Record<string, string[]> = {
  core: [],
  tools: ['core'],
  resources: ['tools', 'core'],
  mcp: ['resources', 'tools', 'core'],
  http: ['mcp', 'resources', 'tools', 'core'],
  openclaw: ['tools', 'core'],
  runtimes: ['core'],
  embeddings: ['core'],
  daemon: ['http', 'mcp', 'resources', 'tools', 'core', 'openclaw', 'runtimes', 'embeddings'],
  cli: ['daemon', 'http', 'mcp', 'resources', 'tools', 'core', 'openclaw', 'runtimes', 'embeddings'],
};
const LEAVES = ['package', 'protocol'];
/** Packages that belong at the edge: the core speaks neither MCP, HTTP, zod nor OpenClaw. */
const EDGE_PACKAGES = /^(@modelcontextprotocol\/|@openclaw\/|zod$|node:https?$|ws$)/;

function layerOf(file: string): string {
  const rel = path.relative(PACKAGE_ROOT, file).replace(/\.[jt]s$/, '').split(path.sep);
  // tools/…, resources/…, src/<layer>/…, or src/<layer>.ts
  return rel[0] === 'tools' || rel[0] === 'resources' ? rel[0] : rel[1];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => m[1] ?? m[2]);
}

describe('the direction of imports', () => {
  const files = ['src', 'tools', 'resources'].flatMap((dir) => sourceFiles(path.join(PACKAGE_ROOT, dir)));

  it('finds every layer it names', () => {
    const layers = new Set(files.map(layerOf));
    for (const layer of Object.keys(MAY_IMPORT)) expect(layers, layer).toContain(layer);
  });

  it('has no import against the direction', () => {
    const backwards: string[] = [];
    for (const file of files) {
      const from = layerOf(file);
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('.')) {
          if (from === 'core' && EDGE_PACKAGES.test(spec)) backwards.push(`${path.relative(PACKAGE_ROOT, file)} imports ${spec}`);
          continue;
        }
        const to = layerOf(path.resolve(path.dirname(file), spec));
        if (to === from || LEAVES.includes(to)) continue;
        if (!(MAY_IMPORT[from] ?? []).includes(to)) backwards.push(`${path.relative(PACKAGE_ROOT, file)} (${from}) imports ${spec} (${to})`);
      }
    }
    expect(backwards).toEqual([]);
  });

  it('keeps the leaves free of the layers', () => {
    for (const leaf of LEAVES) {
      const file = path.join(PACKAGE_ROOT, 'src', `${leaf}.ts`);
      expect(importsOf(file).filter((spec) => spec.startsWith('.')), leaf).toEqual([]);
    }
  });
});
