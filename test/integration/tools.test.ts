import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { allTools } from '../../tools/index.js';
import { listingOf } from '../../tools/invoke.js';
import { httpClient, OPERATOR_TOKEN, startTestDaemon, type TestDaemon } from '../helpers.js';

let daemon: TestDaemon;
beforeAll(async () => {
  daemon = await startTestDaemon();
});
afterAll(async () => {
  await daemon?.destroy();
});

// The public surface: a change to any tool's name, schema or annotations must update its snapshot
// (one file per tool under __snapshots__/tools/) on purpose: `npx vitest run test/integration/tools.test.ts -u`.
it('lists every tool with its schemas and annotations', async () => {
  const operator = await httpClient(daemon.url, OPERATOR_TOKEN);
  const { tools } = await operator.listTools();
  await operator.close();
  expect(tools.map((t) => t.name)).toEqual([...new Set(tools.map((t) => t.name))]);
  for (const tool of tools) expect(tool.name).toMatch(/^[a-z]+(_[a-z]+)*$/);
  const snapshots = path.join(import.meta.dirname, '__snapshots__', 'tools');
  for (const tool of tools) await expect(`${JSON.stringify(tool, null, 2)}\n`).toMatchFileSnapshot(path.join(snapshots, `${tool.name}.json`));
  const names = new Set(tools.map((t) => `${t.name}.json`));
  expect(readdirSync(snapshots).filter((file) => !names.has(file)), 'snapshots of tools that are gone: delete them').toEqual([]);
});

it('lists the resources and the note and topic templates', async () => {
  const dev = await httpClient(daemon.url, daemon.tokens.dev);
  const templates = await dev.listResourceTemplates();
  expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toEqual(['roost://bots/{bot}/notes/{+path}', 'roost://topics/{topic}']);
  const { resources } = await dev.listResources();
  expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['roost://bots', 'roost://inbox', 'roost://topics/dev']));
  await dev.close();
});

// A model reads a parameter's description to know what to pass: none may go without one.
it('describes every parameter of every tool', () => {
  const undescribed: string[] = [];
  const walk = (schema: Record<string, any>, where: string) => {
    for (const [name, property] of Object.entries<Record<string, any>>(schema.properties ?? {})) {
      if (!property.description) undescribed.push(`${where}.${name}`);
      if (property.properties) walk(property, `${where}.${name}`);
      if (property.items?.properties) walk(property.items, `${where}.${name}[]`);
    }
  };
  for (const tool of allTools) walk(listingOf(tool).inputSchema, tool.name);
  expect(undescribed).toEqual([]);
});
