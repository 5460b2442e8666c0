import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, type RequestId, SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';

/** How often an open event stream gets a comment line, so that clients and proxies keep it open. */
const KEEP_ALIVE_MS = 15_000;
const MAX_BATCH = 100;

/**
 * A POST's answer, open until it carried the response to each request of the POST: an event
 * stream, or (when no request asked for progress) one JSON body written once the last response is in.
 */
interface PostAnswer {
  res: ServerResponse;
  waiting: Set<RequestId>;
  /** The responses so far, when the answer is JSON; absent for an event stream. */
  json?: JSONRPCMessage[];
  /** Whether the POST's body was a batch, so that a JSON answer is one too. */
  batch: boolean;
}

/**
 * One MCP session over Streamable HTTP, written on Node's own requests and responses. A POST that
 * carries requests is answered with JSON, or, when a request asks for progress, with an event
 * stream that carries the progress and ends with the last response; a GET opens the session's
 * stream for messages tied to no request (resource updates). The SDK's transport does the same
 * through Web streams and a schema check of each message, which nearly doubled the daemon's cost
 * of a call: a no-op took 0.76 ms of its main thread with it, 0.43 ms with this. JSON rather than
 * an event stream also spares the SDK's client its stream parsing, about 40 % of its CPU per
 * call. No resumption: a client that loses a stream calls again.
 */
export class McpSession implements Transport {
  readonly sessionId = randomUUID();
  onmessage?: Transport['onmessage'];
  onclose?: () => void;
  onerror?: (error: Error) => void;
  private readonly answers = new Map<RequestId, PostAnswer>();
  /** Requests the server has yet to answer (whether or not their client still waits), by id. */
  private readonly pending = new Set<RequestId>();
  private standalone?: ServerResponse;
  private initialized = false;
  private closed = false;

  async start(): Promise<void> {}

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const response = isResponse(message);
    const id = response ? message.id : options?.relatedRequestId;
    if (response) this.pending.delete(id!);
    const answer = id === undefined ? undefined : this.answers.get(id);
    if (!answer) {
      // A message tied to no request takes the session's stream; one whose request's client went away is dropped.
      if (id === undefined && this.standalone) writeEvent(this.standalone, message);
      return;
    }
    // A JSON answer holds responses only; the one message a request sends before its response is
    // progress, and a request that asks for it gets an event stream.
    if (answer.json) {
      if (response) answer.json.push(message);
    } else {
      writeEvent(answer.res, message);
    }
    if (!response) return;
    this.answers.delete(id!);
    answer.waiting.delete(id!);
    if (answer.waiting.size === 0) end(answer);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const answer of new Set(this.answers.values())) {
      // An event stream just ends; a JSON answer must still hold a response to each of its requests.
      for (const id of answer.waiting) answer.json?.push({ jsonrpc: '2.0', id, error: { code: -32000, message: 'The session ended before this request was answered: call again in a new session.' } });
      end(answer);
    }
    this.answers.clear();
    this.pending.clear();
    this.standalone?.end();
    this.standalone = undefined;
    this.onclose?.();
  }

  /** A POST with its body read. Returns false when it was refused (the answer is sent). */
  handlePost(req: IncomingMessage, res: ServerResponse, body: unknown): boolean {
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return refuse(res, 406, 'Not Acceptable: the Accept header must list both application/json and text/event-stream.');
    }
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return refuse(res, 415, 'Unsupported Media Type: Content-Type must be application/json.');
    }
    const messages: unknown[] = Array.isArray(body) ? body : [body];
    if (messages.length === 0 || messages.length > MAX_BATCH || !messages.every(isMessage)) {
      return refuse(res, 400, `Invalid Request: the body must be a JSON-RPC message or a batch of at most ${MAX_BATCH}.`, -32600);
    }
    if (this.closed) return refuse(res, 404, 'Session not found: initialize a new session.', -32001);
    if (messages.some((m) => 'method' in m && m.method === 'initialize')) {
      if (this.initialized) return refuse(res, 400, 'Invalid Request: this session is initialized already.', -32600);
      if (messages.length > 1) return refuse(res, 400, 'Invalid Request: an initialize request comes alone.', -32600);
      this.initialized = true;
    } else if (!this.checkVersion(req, res)) return false;

    const requests = messages.filter(isRequest);
    // A second request with the id of one still under way would take its answer.
    const reused = requests.find((r, i) => this.pending.has(r.id) || requests.findIndex((other) => other.id === r.id) < i);
    if (reused) {
      return refuse(res, 400, `Invalid Request: request id ${JSON.stringify(reused.id)} is still being answered in this session: give each request an id of its own.`, -32600, reused.id);
    }
    for (const request of requests) this.pending.add(request.id);
    // The server answers no request that its client cancels.
    for (const message of messages) if (isCancellation(message)) this.pending.delete(message.params.requestId);
    if (requests.length === 0) {
      res.writeHead(202).end();
    } else {
      const streamed = requests.some(asksForProgress);
      const answer: PostAnswer = { res, waiting: new Set(requests.map((r) => r.id)), batch: Array.isArray(body), json: streamed ? undefined : [] };
      for (const id of answer.waiting) this.answers.set(id, answer);
      const forget = () => {
        for (const id of answer.waiting) if (this.answers.get(id) === answer) this.answers.delete(id);
      };
      if (streamed) this.openStream(res, forget);
      else {
        res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': this.sessionId });
        res.once('close', forget);
      }
    }
    const extra = { requestInfo: { headers: req.headers } };
    for (const message of messages) this.onmessage?.(message, extra);
    return true;
  }

  /** A GET: the session's own event stream, one at a time. */
  handleGet(req: IncomingMessage, res: ServerResponse): void {
    if (!(req.headers.accept ?? '').includes('text/event-stream')) {
      refuse(res, 406, 'Not Acceptable: the Accept header must list text/event-stream.');
      return;
    }
    if (!this.checkVersion(req, res)) return;
    if (this.standalone) {
      refuse(res, 409, 'Conflict: this session has an event stream open already.');
      return;
    }
    this.standalone = res;
    this.openStream(res, () => {
      if (this.standalone === res) this.standalone = undefined;
    });
    res.flushHeaders();
  }

  /** A DELETE: the client ends the session. */
  async handleDelete(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.checkVersion(req, res)) return;
    await this.close();
    res.writeHead(200).end();
  }

  private openStream(res: ServerResponse, closed: () => void): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
      'mcp-session-id': this.sessionId,
    });
    const keepAlive = setInterval(() => writable(res) && res.write(': keepalive\n\n'), KEEP_ALIVE_MS).unref();
    res.once('close', () => {
      clearInterval(keepAlive);
      closed();
    });
  }

  private checkVersion(req: IncomingMessage, res: ServerResponse): boolean {
    const version = req.headers['mcp-protocol-version'];
    if (version === undefined || (typeof version === 'string' && SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return true;
    return refuse(res, 400, `Bad Request: unsupported protocol version ${String(version)}; supported: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.`);
  }
}

type Message = JSONRPCMessage & Record<string, unknown>;

/** The shape of a JSON-RPC 2.0 message; the server checks each request's own schema when it handles it. */
function isMessage(value: unknown): value is Message {
  if (!value || typeof value !== 'object' || (value as { jsonrpc?: unknown }).jsonrpc !== '2.0') return false;
  const { id, method } = value as { id?: unknown; method?: unknown };
  const validId = typeof id === 'string' || typeof id === 'number';
  if (method !== undefined) return typeof method === 'string' && (id === undefined || validId);
  return validId && ('result' in value || 'error' in value);
}

function isRequest(message: Message): message is Message & { id: RequestId; method: string } {
  return 'method' in message && 'id' in message;
}

function isCancellation(message: Message): message is Message & { params: { requestId: RequestId } } {
  const requestId = (message.params as { requestId?: unknown } | undefined)?.requestId;
  return message.method === 'notifications/cancelled' && (typeof requestId === 'string' || typeof requestId === 'number');
}

function asksForProgress(request: Message & { params?: unknown }): boolean {
  const meta = (request.params as { _meta?: { progressToken?: unknown } } | undefined)?._meta;
  return meta?.progressToken !== undefined;
}

function isResponse(message: JSONRPCMessage): message is JSONRPCMessage & { id: RequestId } {
  return !('method' in message) && 'id' in message;
}

function end(answer: PostAnswer): void {
  if (!answer.json) answer.res.end();
  else if (writable(answer.res)) answer.res.end(JSON.stringify(answer.batch ? answer.json : answer.json[0]));
}

function writeEvent(res: ServerResponse, message: JSONRPCMessage): void {
  if (writable(res)) res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
}

/** An ended stream stays open until the client has read it, and writing to it then is an error. */
function writable(res: ServerResponse): boolean {
  return !res.writableEnded && !res.destroyed;
}

function refuse(res: ServerResponse, status: number, message: string, code = -32000, id: RequestId | null = null): false {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id }));
  return false;
}
