import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGE_ROOT } from '../package.js';

const CONSOLE_DIR = path.join(PACKAGE_ROOT, 'src', 'console');

/** The browser libraries, served from the installed packages under /vendor/<name>.js (no CDN: the console works offline). */
const VENDOR: Record<string, string> = {
  'preact.js': fileURLToPath(import.meta.resolve('preact')),
  'preact-hooks.js': fileURLToPath(import.meta.resolve('preact/hooks')),
  'htm.js': fileURLToPath(import.meta.resolve('htm')),
  'marked.js': fileURLToPath(import.meta.resolve('marked')),
  'dompurify.js': fileURLToPath(import.meta.resolve('dompurify')),
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Scripts only from our own files (and the page's import map), nothing inline from notes, nothing from elsewhere. */
function contentSecurityPolicy(): string {
  const html = readFileSync(path.join(CONSOLE_DIR, 'index.html'), 'utf8');
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = createHash('sha256').update(importMap).digest('base64');
  return [
    "default-src 'none'",
    `script-src 'self' 'sha256-${hash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Serves the console's page, its files under /console/ and the libraries under /vendor/; false for any other path. */
export class StaticFiles {
  private readonly csp = contentSecurityPolicy();

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const file = this.fileOf(url.pathname);
    if (!file) return false;
    let stat;
    try {
      stat = await fs.stat(file);
    } catch {
      return false;
    }
    if (!stat.isFile()) return false;
    const etag = `"${stat.size.toString(36)}-${Math.floor(stat.mtimeMs).toString(36)}"`;
    res.setHeader('etag', etag);
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    // The type follows the name served (vendor files are .mjs on disk, .js here).
    const type = TYPES[path.extname(url.pathname) || '.html'];
    if (type.startsWith('text/html')) res.setHeader('content-security-policy', this.csp);
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304).end();
      return true;
    }
    res.writeHead(200, { 'content-type': type, 'content-length': stat.size });
    if (req.method === 'HEAD') res.end();
    else res.end(await fs.readFile(file));
    return true;
  }

  private fileOf(pathname: string): string | undefined {
    if (pathname === '/') return path.join(CONSOLE_DIR, 'index.html');
    if (pathname.startsWith('/vendor/')) return VENDOR[pathname.slice('/vendor/'.length)];
    if (!pathname.startsWith('/console/')) return undefined;
    // URL parsing already resolved any "..": what remains is a plain path below /console/.
    const file = path.join(CONSOLE_DIR, pathname.slice('/console/'.length));
    if (!file.startsWith(CONSOLE_DIR + path.sep) || !(path.extname(file) in TYPES)) return undefined;
    return file;
  }
}
