import { GatewayClient, GatewayClientRequestError, GatewayClientRequestTimeoutError } from '@openclaw/gateway-client';

export interface GatewayOptions {
  /** The gateway's WebSocket URL, e.g. `ws://127.0.0.1:18789`. */
  url: string;
  /** The gateway's auth token (`gateway.auth.token`). */
  token: string;
  /** How long a request waits for the connection (and its handshake) before giving up. */
  connectTimeoutMs?: number;
  /** How long a request waits for its response. */
  requestTimeoutMs?: number;
}

/** The gateway could not be reached, refused the connection, or refused or dropped a request. */
export class GatewayError extends Error {
  constructor(
    message: string,
    /** `unreachable`, `refused` (credentials), `timeout`, or the gateway's own error code (e.g. `INVALID_REQUEST`). */
    readonly code: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

const PROTOCOL = 4;

/**
 * One operator connection to an OpenClaw gateway (protocol v4, token auth), opened on first use.
 * After a drop the client reconnects by itself; requests made meanwhile wait for the new handshake.
 */
export class OpenClawGateway {
  private client?: GatewayClient;
  private connected = false;
  private lastError?: string;
  /** Requests waiting for the handshake: called with nothing when it succeeds, with the reason when it is refused. */
  private waiters = new Set<(refusal?: string) => void>();
  private readonly connectTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  /** Called after every successful handshake (first connect and reconnects). */
  onConnect?: () => void;

  constructor(private readonly options: GatewayOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  get url(): string {
    return this.options.url;
  }

  async request<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown>,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<T> {
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const client = await this.ready();
    try {
      return await client.request<T>(method, params, { timeoutMs, signal: options.signal });
    } catch (error) {
      if (error instanceof GatewayClientRequestTimeoutError) {
        throw new GatewayError(`The OpenClaw gateway did not answer ${method} within ${timeoutMs} ms.`, 'timeout');
      }
      if (error instanceof GatewayClientRequestError) throw new GatewayError(error.message, error.gatewayCode || 'error');
      throw new GatewayError(`The connection to the OpenClaw gateway failed during ${method}: ${(error as Error).message}`, 'unreachable');
    }
  }

  /** Connects if needed; waits (bounded) for the handshake. */
  private async ready(): Promise<GatewayClient> {
    const client = this.start();
    if (this.connected) return client;
    await new Promise<void>((resolve, reject) => {
      const settle = (refusal?: string) => {
        clearTimeout(timer);
        this.waiters.delete(settle);
        if (refusal === undefined) resolve();
        else reject(new GatewayError(`The OpenClaw gateway at ${this.options.url} refused Roost's connection (${refusal}): check its token.`, 'refused'));
      };
      const timer = setTimeout(() => {
        this.waiters.delete(settle);
        const why = this.lastError ? ` (${this.lastError})` : '';
        reject(new GatewayError(`The OpenClaw gateway at ${this.options.url} is not reachable${why}: start it, or check its URL.`, 'unreachable'));
      }, this.connectTimeoutMs);
      this.waiters.add(settle);
    });
    return client;
  }

  private start(): GatewayClient {
    if (this.client) return this.client;
    const client: GatewayClient = new GatewayClient({
      url: this.options.url,
      token: this.options.token,
      minProtocol: PROTOCOL,
      maxProtocol: PROTOCOL,
      requestTimeoutMs: this.requestTimeoutMs,
      connectChallengeTimeoutMs: this.connectTimeoutMs,
      onHelloOk: () => {
        this.connected = true;
        this.lastError = undefined;
        for (const settle of [...this.waiters]) settle();
        this.onConnect?.();
      },
      onConnectError: (error) => {
        this.lastError = error.message;
      },
      onClose: () => {
        this.connected = false;
      },
      // The gateway refused our credentials and this client will not retry: the next request starts a fresh one.
      onReconnectPaused: (info) => {
        if (this.client === client) this.client = undefined;
        client.stop();
        for (const settle of [...this.waiters]) settle(info.reason);
      },
    });
    this.client = client;
    client.start();
    return client;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.stopAndWait({ timeoutMs: 2_000 }).catch(() => undefined);
  }
}
