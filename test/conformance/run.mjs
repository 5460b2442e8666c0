// Runs the MCP conformance suite's server scenarios that apply to Roost against a real daemon.
// The suite's client sends no credentials, so a loopback proxy adds the operator token (acting as
// the main bot); Host and Origin pass through unchanged but for the port, so the daemon's own
// DNS-rebinding checks are what the suite tests. Expected failures are listed, with reasons, in
// expected-failures.yml.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'resources-subscribe',
  'resources-unsubscribe',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];
const token = 'roost_operator_conformance';
const home = mkdtempSync(path.join(os.tmpdir(), 'roost-conformance-'));

const daemon = spawn(process.execPath, [path.join(root, 'dist/src/cli.js'), 'serve', '--home', home, '--port', '0'], {
  env: { ...process.env, ROOST_OPERATOR_TOKEN: token },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let target;
for (let i = 0; i < 200 && !target; i++) {
  await new Promise((r) => setTimeout(r, 100));
  try {
    target = new URL(JSON.parse(readFileSync(path.join(home, '.roost/daemon.lock'), 'utf8')).url);
  } catch {
    // not listening yet
  }
}
if (!target) throw new Error('the daemon did not start');

const proxy = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${token}`, 'x-roost-bot': 'main' };
  const swapPort = (value) => value?.replace(/^((?:http:\/\/)?(?:localhost|127\.0\.0\.1|\[::1\])):\d+$/, `$1:${target.port}`);
  headers.host = swapPort(req.headers.host);
  if (req.headers.origin) headers.origin = swapPort(req.headers.origin);
  const upstream = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = `http://localhost:${proxy.address().port}/mcp`;

let failed = 0;
for (const scenario of SCENARIOS) {
  // Asynchronously: the proxy lives in this process and must keep serving while the suite runs.
  const suite = spawn(process.execPath, [path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'), 'server', '--url', url, '--scenario', scenario, '--expected-failures', path.join(root, 'test/conformance/expected-failures.yml')], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  let output = '';
  suite.stdout.on('data', (d) => (output += d));
  suite.stderr.on('data', (d) => (output += d));
  const status = await new Promise((resolve) => suite.once('exit', resolve));
  const ok = status === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'pass' : 'FAIL'}  ${scenario}`);
  if (!ok) console.log(output.split('\n').filter((l) => /FAILURE|Error|WARNING/.test(l)).slice(0, 20).join('\n'));
}
console.log(`${SCENARIOS.length - failed} passed, ${failed} failed`);

proxy.close();
daemon.kill('SIGTERM');
await new Promise((r) => daemon.once('exit', r));
rmSync(home, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
