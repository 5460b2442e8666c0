// Runs the MCP conformance suite's server scenarios that apply to Roost against a real daemon, and
// says for every other server scenario of the suite why it does not apply (most target the suite's
// own test tools, resources and prompts); a scenario the suite adds fails the run until it is placed.
// The suite's client sends no credentials, so a loopback proxy adds the operator token (acting as
// the main bot); Host and Origin pass through unchanged but for the port, so the daemon's own
// DNS-rebinding checks are what the suite tests. Expected failures are listed, with reasons, in
// expected-failures.yml.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const suite = path.join(root, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
/** The server scenarios that test what Roost itself serves. */
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
/** Every other server scenario of the suite, and why it does not apply to Roost. */
const NOT_RUN = {
  'completion-complete': "completes an argument of the suite's own prompt test_prompt_with_arguments; Roost has no prompts and declares no completions capability",
  'tools-call-simple-text': "calls the suite's own tool test_simple_text",
  'tools-call-image': "calls the suite's own tool test_image_content; Roost's tools return text and structured content only",
  'tools-call-audio': "calls the suite's own tool test_audio_content; Roost's tools return no audio",
  'tools-call-embedded-resource': "calls the suite's own tool test_embedded_resource",
  'tools-call-mixed-content': "calls the suite's own tool test_multiple_content_types",
  'tools-call-with-logging': "calls the suite's own tool test_tool_with_logging",
  'tools-call-error': "calls the suite's own tool test_error_handling (it passes only because Roost answers an unknown tool with an isError result; Roost's own error results are checked by test/reliability/fuzz.test.ts)",
  'tools-call-with-progress': "calls the suite's own tool test_tool_with_progress (Roost's progress notifications are tested with wait_for_messages and spawn_agent in test/integration)",
  'tools-call-sampling': "calls the suite's own tool test_sampling; Roost never asks its clients for sampling",
  'tools-call-elicitation': "calls the suite's own tool test_elicitation; Roost never asks its clients for input",
  'json-schema-2020-12': "looks for the suite's own tool json_schema_2020_12_tool and its $defs",
  'elicitation-sep1034-defaults': "calls the suite's own tool test_elicitation_sep1034_defaults; Roost never elicits",
  'elicitation-sep1330-enums': "calls the suite's own tool test_elicitation_sep1330_enums; Roost never elicits",
  'server-sse-polling': "calls the suite's own tool test_reconnection, which closes the stream mid-call",
  'resources-read-text': "reads the suite's own resource test://static-text",
  'resources-read-binary': "reads the suite's own resource test://static-binary; Roost's resources are text",
  'resources-templates-read': "reads the suite's own template test://template/{id}/data",
  'prompts-list': 'Roost serves no prompts and declares no prompts capability, so prompts/list is rightly "method not found"',
  'prompts-get-simple': "gets the suite's own prompt test_simple_prompt; Roost serves no prompts",
  'prompts-get-with-args': "gets the suite's own prompt test_prompt_with_arguments; Roost serves no prompts",
  'prompts-get-embedded-resource': "gets the suite's own prompt test_prompt_with_embedded_resource; Roost serves no prompts",
  'prompts-get-with-image': "gets the suite's own prompt test_prompt_with_image; Roost serves no prompts",
};

// Every server scenario this version of the suite has is either run or explained above.
const listed = spawnSync(process.execPath, [suite, 'list', '--server'], { encoding: 'utf8' });
if (listed.status !== 0) throw new Error(`the suite did not list its scenarios: ${listed.stderr}`);
const all = [...listed.stdout.matchAll(/^\s*-\s+(\S+)\s*$/gm)].map((m) => m[1]);
const unaccounted = all.filter((name) => !SCENARIOS.includes(name) && !(name in NOT_RUN));
const unknown = [...SCENARIOS, ...Object.keys(NOT_RUN)].filter((name) => !all.includes(name));
if (all.length === 0 || unaccounted.length || unknown.length) {
  console.error(`server scenarios neither run nor explained: ${unaccounted.join(', ') || 'none'}; named here but not in the suite: ${unknown.join(', ') || 'none'}`);
  process.exit(1);
}
console.log(`${all.length} server scenarios: ${SCENARIOS.length} run, ${Object.keys(NOT_RUN).length} not applicable:`);
for (const [name, why] of Object.entries(NOT_RUN)) console.log(`  skip  ${name}: ${why}`);

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
  const run = spawn(process.execPath, [suite, 'server', '--url', url, '--scenario', scenario, '--expected-failures', path.join(root, 'test/conformance/expected-failures.yml')], {
    cwd: home,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  let output = '';
  run.stdout.on('data', (d) => (output += d));
  run.stderr.on('data', (d) => (output += d));
  const status = await new Promise((resolve) => run.once('exit', resolve));
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
