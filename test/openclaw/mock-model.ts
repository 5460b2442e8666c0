import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted model behind an OpenAI-compatible chat completions endpoint (streaming SSE) on
 * 127.0.0.1. A turn whose user text has lines `CALL <tool> <json arguments>` makes it call those
 * tools one after the other, then answer `DONE <last tool result>`; `REPLY <text>` sets the final
 * answer instead; any other turn is answered `ECHO <user text>`.
 */
export class MockModel {
  /** Every completion request: the tools offered and the messages sent. */
  readonly requests: Array<{ tools: string[]; messages: ChatMessage[] }> = [];

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<MockModel> {
    const server = http.createServer();
    const model = new MockModel(server);
    server.on('request', (req, res) => void model.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return model;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** The tools offered in requests whose conversation contains `marker`. */
  toolsSeen(marker: string): string[] {
    const seen = this.requests.filter((r) => JSON.stringify(r.messages).includes(marker)).flatMap((r) => r.tools);
    return [...new Set(seen)].sort();
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url?.endsWith('/models')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'echo', object: 'model' }] }));
      return;
    }
    const request = JSON.parse(body || '{}') as { messages?: ChatMessage[]; tools?: Array<{ function?: { name?: string } }> };
    const messages = request.messages ?? [];
    this.requests.push({ tools: (request.tools ?? []).map((t) => t.function?.name ?? ''), messages });
    const { text, calls, results } = currentTurn(messages);
    const next = calls[results.length];
    const id = `chatcmpl-${this.requests.length}`;
    const chunk = (delta: unknown, finish: string | null = null) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created: 0, model: 'echo', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const sleep = Number(/^SLEEP (\d+)$/m.exec(text)?.[1] ?? 0);
    if (!next && sleep) {
      const aborted = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), sleep);
        res.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (aborted) return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (next) {
      const call = { index: 0, id: `call_${this.requests.length}`, type: 'function', function: { name: next.name, arguments: next.args } };
      res.write(chunk({ role: 'assistant', tool_calls: [call] }));
      res.write(chunk({}, 'tool_calls'));
    } else {
      const reply = /^REPLY (.*)$/m.exec(text)?.[1] ?? (calls.length ? `DONE ${contentText(results.at(-1)?.content)}` : `ECHO ${text}`);
      res.write(chunk({ role: 'assistant', content: reply }));
      res.write(chunk({}, 'stop'));
    }
    res.end('data: [DONE]\n\n');
  }
}

export interface ChatMessage {
  role: string;
  content?: unknown;
  tool_calls?: unknown[];
}

/** The turn being answered: everything after the last final answer. OpenClaw's own context notes are not the user's text. */
function currentTurn(messages: ChatMessage[]) {
  let start = 0;
  messages.forEach((m, i) => {
    if (m.role === 'assistant' && !m.tool_calls?.length) start = i + 1;
  });
  const turn = messages.slice(start);
  const text = turn
    .filter((m) => m.role === 'user')
    .map((m) => contentText(m.content))
    .filter((t) => !t.includes('OPENCLAW_INTERNAL_CONTEXT'))
    .join('\n');
  const calls = [...text.matchAll(/^CALL (\S+) (.*)$/gm)].map((m) => ({ name: m[1], args: m[2] }));
  return { text, calls, results: turn.filter((m) => m.role === 'tool') };
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p: { text?: string }) => p.text ?? '').join('');
  return '';
}
