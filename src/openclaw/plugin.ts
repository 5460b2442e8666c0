import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { allTools } from '../../tools/index.js';
import { listingOf } from '../../tools/invoke.js';
import { PACKAGE_ROOT } from '../package.js';

/** Roost's OpenClaw plugin: a folder of its own, installed into the gateway (see its README). */
export const PLUGIN_DIR = path.join(PACKAGE_ROOT, 'openclaw-plugin');
const TOOLS_FILE = path.join(PLUGIN_DIR, 'tools.json');
const MANIFEST_FILE = path.join(PLUGIN_DIR, 'openclaw.plugin.json');

/** One Roost tool as the plugin offers it to OpenClaw agents, as `roost_<name>`. */
export interface PluginTool {
  name: string;
  title: string;
  description: string;
  /** JSON Schema of the arguments, as Roost's MCP server lists it. */
  parameters: Record<string, unknown>;
  /** In the lean profile, which the plugin offers by default. */
  lean: boolean;
}

/**
 * The lean profile: the tools an agent uses every day, offered by default so that every model call
 * carries a small tool list. The plugin's `"tools": "full"` offers the rest as well; either way an
 * agent gets only the tools its bot may use.
 */
export const LEAN_TOOLS = [
  'whoami',
  'write_note',
  'edit_note',
  'read_note',
  'search_memory',
  'journal_append',
  'send_message',
  'read_inbox',
  'ack_messages',
  'list_bots',
  'spawn_agent',
  'agent_status',
  'complete_task',
];

/** Every tool Roost serves. OpenClaw needs the plugin's tool names before it loads the plugin, so they are fixed at build time. */
export function pluginTools(): PluginTool[] {
  return allTools.map((tool) => {
    const { $schema: _, ...parameters } = listingOf(tool).inputSchema;
    return { name: tool.name, title: tool.title, description: tool.description, parameters, lean: LEAN_TOOLS.includes(tool.name) };
  });
}

export function openClawToolName(tool: string): string {
  return `roost_${tool}`;
}

/** Writes the plugin's `tools.json` and the tool names its manifest declares. */
export function writePluginTools(): void {
  const tools = pluginTools();
  writeFileSync(TOOLS_FILE, `${JSON.stringify(tools, null, 2)}\n`);
  const manifest = JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')) as { contracts?: { tools?: string[] } };
  manifest.contracts = { ...manifest.contracts, tools: tools.map((t) => openClawToolName(t.name)) };
  writeFileSync(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) writePluginTools();
