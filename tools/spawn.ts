import { z } from 'zod';
import { checkMayReadSession, maySeeSession } from '../src/core/access.js';
import { SESSION_ADDRESS } from '../src/core/delivery.js';
import { UserError } from '../src/core/errors.js';
import { RUNTIMES } from '../src/core/agent-runtime.js';
import { RESULT_CHARS, type TaskNode } from '../src/core/tasks/lifecycle.js';
import { CLEANUPS, type Task } from '../src/core/tasks/store.js';
import { CAP, defineTool, type Services, type ToolContext } from './define.js';

const id = z.string().max(CAP.id);
const brief = z.string().min(1).max(CAP.message);
const deadline = id.optional().describe('When the task must be done: a duration (30s, 15m, 2h, 1d) or an ISO time. Default: 1h.');
const wait = z
  .boolean()
  .default(false)
  .describe('Block until the task ends and return its result. Progress notifications every 5 s keep the call alive for clients that reset their timeout on progress.');
const status = z.enum(['starting', 'running', 'done', 'failed', 'expired', 'cancelled']);

export const taskOut = z.object({
  task: z.string().describe('The task id.'),
  kind: z.enum(['spawn', 'assign']),
  agent: z.string().describe('The bot doing the work.'),
  parent: z.string().describe('Who asked for it, and gets the result.'),
  status,
  runtime: z.enum(RUNTIMES),
  run_id: z.string().optional().describe("The runtime's proof it accepted the brief: OpenClaw run id, pid:<n>, or the brief's message id."),
  session: z.string().optional().describe('The OpenClaw session it works in.'),
  pid: z.number().optional(),
  topic: z.string().optional(),
  deadline: z.string(),
  cleanup: z.enum(CLEANUPS),
  depth: z.number(),
  created: z.string(),
  started: z.string().optional(),
  ended: z.string().optional(),
  last_activity: z.string().optional(),
  result: z.string().optional(),
  error: z.string().optional(),
  kept: z.array(z.string()).optional(),
  reported: z.string().optional().describe('The message in the parent\'s inbox that reported the end.'),
});

export function taskView(roost: Services, task: Task): z.infer<typeof taskOut> {
  const last = roost.tasks.lastActivity(task);
  return {
    task: task.id,
    kind: task.kind,
    agent: task.bot,
    parent: task.parent,
    status: task.status,
    runtime: task.runtime,
    ...(task.run ? { run_id: task.run.runId } : {}),
    ...(task.run?.session ? { session: task.run.session } : {}),
    ...(task.run?.pid !== undefined ? { pid: task.run.pid } : {}),
    ...(task.topic ? { topic: task.topic } : {}),
    deadline: task.deadline,
    cleanup: task.cleanup,
    depth: task.depth,
    created: task.created,
    ...(task.started ? { started: task.started } : {}),
    ...(task.ended ? { ended: task.ended } : {}),
    ...(last ? { last_activity: last } : {}),
    ...(task.result !== undefined ? { result: task.result } : {}),
    ...(task.error ? { error: task.error } : {}),
    ...(task.kept ? { kept: task.kept } : {}),
    ...(task.reported ? { reported: task.reported } : {}),
  };
}

/** Waits for the end when asked to, telling the client how long the task has run. */
async function maybeWait(roost: Services, task: Task, waitForEnd: boolean, { signal, progress }: ToolContext): Promise<Task> {
  if (!waitForEnd) return task;
  const total = Date.parse(task.deadline) - Date.parse(task.started ?? task.created);
  return roost.tasks.waitFor(task.id, signal, (now, elapsed) =>
    progress(Math.round(elapsed / 1000), Math.round(total / 1000), `${now.id} ${now.status}; last activity ${roost.tasks.lastActivity(now) ?? 'none'}`),
  );
}

export const spawnAgent = defineTool({
  name: 'spawn_agent',
  title: 'Spawn a task agent',
  description:
    'Start a new task agent with its own memory and token, hand it a brief, and get its result back in your inbox (and live in your session) when it ends. ' +
    'The agent is cleaned up afterwards. With wait=true this call returns the result.',
  toolset: 'spawn',
  type: 'action',
  input: {
    task: brief.describe('The brief: what to do and what to hand back.'),
    role: z.string().max(CAP.role).optional().describe('A bot definition to start from (its role, tools, OpenClaw agent), or a role in free text.'),
    topic: id.optional().describe('A topic the task agent joins: it gets the topic\'s messages.'),
    runtime: z.enum(RUNTIMES).optional().describe('Where it runs: openclaw (a gateway session), command (a local process), none (it attaches itself). Default: the daemon\'s.'),
    deadline,
    cleanup: z.enum(CLEANUPS).default('archive').describe('Its memory afterwards: archive (into your memory under tasks/<agent>/), keep, or delete.'),
    wait,
  },
  output: { ...taskOut.shape, token: z.string().optional().describe("Runtime none: the agent's bearer token, shown only here; hand it to the agent.") },
  handler: async (a, context) => {
    const { roost, caller } = context;
    if (a.wait && (a.runtime ?? roost.runtimes.default) === 'none') {
      throw new UserError('wait cannot be used with runtime none: the agent needs the token this call returns before it can start. Spawn without wait, then call agent_status or wait for the result in your inbox.');
    }
    const { task, token } = await roost.tasks.spawn(caller, a);
    return { ...taskView(roost, await maybeWait(roost, task, a.wait, context)), ...(token ? { token } : {}) };
  },
});

export const assignTask = defineTool({
  name: 'assign_task',
  title: 'Assign a task to a bot',
  description:
    "Give an existing bot a task: it arrives in the bot's inbox and live in its session, and is tracked like a spawned agent (status, deadline, result back to you).",
  toolset: 'spawn',
  type: 'action',
  input: { bot: id.describe('The bot to give it to.'), task: brief.describe('The brief: what to do and what to hand back.'), deadline, wait },
  output: { ...taskOut.shape, live: z.boolean().describe('True when the task also reached a live session of the bot.') },
  handler: async (a, context) => {
    const { roost, caller } = context;
    const { task, message } = await roost.tasks.assign(caller, a);
    return { ...taskView(roost, await maybeWait(roost, task, a.wait, context)), live: message?.live ?? false };
  },
});

export const completeTask = defineTool({
  name: 'complete_task',
  title: 'Complete your task',
  description: 'Report the result of your task to whoever asked for it. Task agents: list the notes worth keeping in "keep"; the rest of your memory is cleaned up as the spawn said.',
  toolset: 'spawn',
  type: 'action',
  input: {
    task: id.optional().describe('The task id. Default: your only live task.'),
    result: z.string().min(1).max(RESULT_CHARS).describe('The result, as you want your parent to read it.'),
    outcome: z.enum(['done', 'failed']).default('done').describe('failed: you could not do it; say why in the result.'),
    keep: z.array(z.string().max(CAP.path)).max(CAP.list).optional().describe('Paths of your notes to copy into your parent\'s memory (tasks/<you>/…).'),
  },
  output: taskOut.shape,
  handler: async (a, { roost, caller }) =>
    taskView(roost, await roost.tasks.complete(caller, { id: a.task, result: a.result, outcome: a.outcome, keep: a.keep })),
});

export const agentStatus = defineTool({
  name: 'agent_status',
  title: 'Task status',
  description: 'The status, timings, last activity and result of a task (by task id) or of a task agent (by its bot id).',
  toolset: 'spawn',
  type: 'readOnly',
  input: { id: id.describe('A task id or a task agent\'s bot id.') },
  output: taskOut.shape,
  handler: async (a, { roost, caller }) => taskView(roost, roost.tasks.require(caller, a.id)),
});

export const listAgents = defineTool({
  name: 'list_agents',
  title: 'List task agents',
  description: 'The tasks you asked for, with the tasks their agents asked for under them, depth first. Main bot and operator: every task.',
  toolset: 'spawn',
  type: 'readOnly',
  input: { live: z.boolean().default(false).describe('Only tasks still starting or running.') },
  output: {
    agents: z.array(taskOut.extend({ level: z.number().describe('0 for your own tasks, 1 for their agents\' tasks…'), children: z.array(z.string()) })),
  },
  handler: async (a, { roost, caller }) => {
    const rows: Array<z.infer<typeof taskOut> & { level: number; children: string[] }> = [];
    const walk = (node: TaskNode, level: number) => {
      rows.push({ ...taskView(roost, node), level, children: node.children.map((c) => c.id) });
      for (const child of node.children) walk(child, level + 1);
    };
    for (const root of roost.tasks.tree(caller, { live: a.live })) walk(root, 0);
    return { agents: rows };
  },
});

export const cancelAgent = defineTool({
  name: 'cancel_agent',
  title: 'Cancel a task',
  description: 'Stop a task you asked for (its run is aborted); whoever asked is told. Main bot and operator: any task.',
  toolset: 'spawn',
  type: 'destructive',
  input: { id: id.describe('A task id or a task agent\'s bot id.') },
  output: taskOut.shape,
  handler: async (a, { roost, caller }) => taskView(roost, await roost.tasks.cancel(caller, roost.tasks.require(caller, a.id).id)),
});

const sessionOut = z.object({
  key: z.string(),
  agent: z.string().describe('The OpenClaw agent.'),
  bot: z.string().optional().describe('The Roost bot working in it, when it is one.'),
  label: z.string().optional(),
  status: z.string().optional(),
  updated: z.string().optional(),
});

export const listSessions = defineTool({
  name: 'list_sessions',
  title: 'List OpenClaw sessions',
  description: "The OpenClaw gateway's sessions of Roost's bots and task agents (main bot and operator: every session), most recent first.",
  toolset: 'spawn',
  type: 'readOnly',
  input: {
    agent: id.optional().describe('Only this OpenClaw agent\'s sessions.'),
    search: z.string().max(CAP.line).optional().describe('Only sessions matching this text (the gateway searches keys and labels).'),
    limit: z.number().int().min(1).max(200).default(50).describe('How many sessions to return, at most 200.'),
  },
  output: { sessions: z.array(sessionOut) },
  handler: async (a, { roost, caller }) => {
    const listed = await roost.runtimes.requireOpenClaw().sessions({ agent: a.agent, search: a.search, limit: a.limit });
    const sessions = listed
      .map((s) => ({ ...s, ...optionalBot(roost.sessions.ownerOf(s.key)) }))
      .filter((s) => maySeeSession(caller, s.bot));
    return { sessions };
  },
});

export const sessionHistory = defineTool({
  name: 'session_history',
  title: 'Read a session',
  description: 'The recent turns of an OpenClaw session (of a Roost bot or task agent; main bot and operator: any session).',
  toolset: 'spawn',
  type: 'readOnly',
  input: { session: z.string().max(CAP.line).describe('The session key, e.g. agent:dev:roost:dev.'), limit: z.number().int().min(1).max(200).default(20).describe('How many recent turns to return, at most 200.') },
  output: {
    session: z.string(),
    bot: z.string().optional(),
    turns: z.array(z.object({ role: z.string(), text: z.string(), at: z.string().optional() })),
  },
  handler: async (a, { roost, caller }) => {
    const bot = roost.sessions.ownerOf(a.session);
    checkMayReadSession(caller, a.session, bot);
    const turns = await roost.runtimes.requireOpenClaw().history(a.session, a.limit);
    return { session: a.session, ...optionalBot(bot), turns };
  },
});

export const sendToSession = defineTool({
  name: 'send_to_session',
  title: 'Send into a session',
  description:
    "Inject a message into an OpenClaw session by its key, whoever's it is. It is a message like any other: in your sent mail, and in the bot's inbox when the session is a Roost bot's.",
  toolset: 'spawn',
  type: 'action',
  input: {
    session: z.string().max(CAP.line).describe('The session key, e.g. agent:dev:main.'),
    body: z.string().max(CAP.message).describe('The message, in Markdown.'),
    subject: z.string().max(CAP.line).optional().describe('One line. Default: the first line of the body.'),
    idempotency_key: z.string().max(CAP.line).optional().describe('Repeat a send safely: the same key is one message.'),
  },
  output: {
    id: z.string().describe('The message id.'),
    session: z.string(),
    bot: z.string().optional().describe('The Roost bot whose session it is; the message is in its inbox too.'),
    live: z.boolean().describe('True when the message reached the session.'),
    reason: z.string().optional().describe('Why it did not reach the session.'),
  },
  handler: async (a, { roost, caller }) => {
    roost.runtimes.requireOpenClaw();
    const bot = roost.sessions.botIn(a.session);
    const sent = await roost.mail.send(caller, {
      to: [bot ?? `${SESSION_ADDRESS}${a.session}`],
      subject: a.subject,
      body: a.body,
      idempotency_key: a.idempotency_key,
    });
    const delivery = sent.recipients[0];
    return { id: sent.id, session: a.session, ...optionalBot(bot), live: delivery?.live ?? false, ...(delivery?.reason ? { reason: delivery.reason } : {}) };
  },
});

function optionalBot(bot: string | undefined): { bot?: string } {
  return bot ? { bot } : {};
}

export const spawnTools = [spawnAgent, assignTask, completeTask, agentStatus, listAgents, cancelAgent, listSessions, sessionHistory, sendToSession];
