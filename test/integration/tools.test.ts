import { afterAll, beforeAll, expect, it } from 'vitest';
import { httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startTestDaemon();
});
afterAll(async () => {
  await daemon?.destroy();
});

// The public surface: a change to any tool's name, schema or annotations must update this snapshot on purpose.
it('lists every tool with its schemas and annotations', async () => {
  const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
  const { tools } = await operator.listTools();
  await operator.close();
  expect(tools.map((t) => t.name)).toEqual([...new Set(tools.map((t) => t.name))]);
  for (const tool of tools) expect(tool.name).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(tools).toMatchSnapshot();
});

it('lists the resources and the note and topic templates', async () => {
  const dev = await httpClient(daemon.url, daemon.tokens.dev);
  const templates = await dev.listResourceTemplates();
  expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['roost://bots/{bot}/notes/{+path}', 'roost://topics/{topic}']);
  const { resources } = await dev.listResources();
  expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['roost://bots', 'roost://inbox', 'roost://topics/dev']));
  await dev.close();
});
