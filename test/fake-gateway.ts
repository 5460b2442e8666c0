import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** What a handler answers: a payload, an error, or nothing at all (the request hangs). */
export type FakeAnswer = { payload: unknown } | { error: { code: string; message: string } } | 'silent';
export type FakeHandler = (params: Record<string, any>) => FakeAnswer | Promise<FakeAnswer>;

/**
 * A stand-in for an OpenClaw gateway on 127.0.0.1 speaking its WebSocket frame protocol (v4):
 * `connect.challenge` event, `connect` request with a token, `hello-ok`, then req/res frames.
 */
export class FakeGateway {
  readonly requests: Array<{ method: string; params: Record<string, any> }> = [];
  readonly handlers = new Map<string, FakeHandler>();
  connections = 0;
  private readonly sockets = new Set<WebSocket>();

  private constructor(
    private readonly server: WebSocketServer,
    readonly token: string,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(token = 'fake-gateway-token'): Promise<FakeGateway> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    return new FakeGateway(server, token);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(method: string, handler: FakeHandler): this {
    this.handlers.set(method, handler);
    return this;
  }

  calls(method: string): Array<Record<string, any>> {
    return this.requests.filter((r) => r.method === method).map((r) => r.params);
  }

  /** Cuts every open connection, as a gateway restart would. */
  drop(): void {
    for (const socket of this.sockets) socket.terminate();
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    let authed = false;
    const send = (frame: unknown) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(frame));
    send({ type: 'event', event: 'connect.challenge', payload: { nonce: randomUUID(), ts: Date.now() } });
    socket.on('message', async (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id: string; method: string; params: Record<string, any> };
      if (frame.type !== 'req') return;
      if (frame.method === 'connect') {
        if (frame.params?.auth?.token !== this.token) {
          send({
            type: 'res',
            id: frame.id,
            ok: false,
            error: {
              code: 'INVALID_REQUEST',
              message: 'unauthorized: gateway token mismatch (provide gateway auth token)',
              details: { code: 'AUTH_TOKEN_MISMATCH', canRetryWithDeviceToken: false, recommendedNextStep: 'update_auth_credentials' },
            },
          });
          socket.close(1008, 'unauthorized: gateway token mismatch (provide gateway auth token)');
          return;
        }
        authed = true;
        this.connections++;
        send({ type: 'res', id: frame.id, ok: true, payload: helloOk() });
        return;
      }
      if (!authed) return void socket.close(1008, 'connect first');
      this.requests.push({ method: frame.method, params: frame.params ?? {} });
      const handler = this.handlers.get(frame.method);
      const answer: FakeAnswer = handler
        ? await handler(frame.params ?? {})
        : { error: { code: 'INVALID_REQUEST', message: `unknown method: ${frame.method}` } };
      if (answer === 'silent') return;
      if ('error' in answer) send({ type: 'res', id: frame.id, ok: false, error: answer.error });
      else send({ type: 'res', id: frame.id, ok: true, payload: answer.payload });
    });
  }
}

function helloOk() {
  return {
    type: 'hello-ok',
    protocol: 4,
    server: { version: 'fake', connId: randomUUID() },
    features: { methods: ['agent', 'agent.wait', 'sessions.send', 'sessions.create', 'sessions.list', 'sessions.abort', 'chat.history'], events: [] },
    snapshot: {},
    auth: { role: 'operator', scopes: ['operator.admin'] },
    policy: { maxPayload: 26214400, maxBufferedBytes: 52428800, tickIntervalMs: 30000 },
  };
}
