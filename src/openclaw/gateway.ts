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
 * Pause between connection attempts while the gateway is away. The gateway client's own back-off
 * grows to 30 s, so after a gateway restart Roost could wait that long; a fresh client per attempt
 * at this pace finds a restarted gateway within about a second of it listening.
 */
const REDIAL_MS = 500;

/**
 * One operator connection to an OpenClaw gateway (protocol v4, token auth), opened on first use.
 * After a drop Roost dials again every half second until the gateway is back; requests made
 * meanwhile wait (bounded) for the new handshake.
 */
export class OpenClawGateway {
  private client?: GatewayClient;
  private connected = false;
  private lastError?: string;
  /** When the last connection dropped, while it stays down. */
  private droppedAt?: number;
  private redialTimer?: NodeJS.Timeout;
  private closed = false;
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
      throw new GatewayError(
        `The connection to the OpenClaw gateway dropped during ${method} (${(error as Error).message}): the gateway may be restarting; Roost reconnects by itself, try again in a few seconds.`,
        'unreachable',
      );
    }
  }

  /** Connects if needed; waits (bounded) for the handshake. */
  private async ready(): Promise<GatewayClient> {
    if (this.closed) throw new GatewayError('Roost\'s connection to the OpenClaw gateway is closed.', 'unreachable');
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
        reject(new GatewayError(this.unreachable(), 'unreachable'));
      }, this.connectTimeoutMs);
      this.waiters.add(settle);
    });
    return this.client ?? client;
  }

  /** Why a request found no connection, in words: down since a drop (a restart, most likely), or never reached. */
  private unreachable(): string {
    const why = this.lastError ? ` (${this.lastError})` : '';
    if (this.droppedAt !== undefined) {
      const seconds = Math.round((Date.now() - this.droppedAt) / 1000);
      return `The OpenClaw gateway at ${this.options.url} is restarting or down: its connection dropped ${seconds} s ago${why}. Roost reconnects within a second of it being back; try again shortly.`;
    }
    return `The OpenClaw gateway at ${this.options.url} is not reachable${why}: start it, or check its URL.`;
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
        if (this.client !== client) return;
        this.connected = true;
        this.lastError = undefined;
        this.droppedAt = undefined;
        for (const settle of [...this.waiters]) settle();
        this.onConnect?.();
      },
      onConnectError: (error) => {
        this.lastError = error.message;
      },
      // After a failed attempt too; not after a refusal of our credentials, which pauses the client first (below).
      onClose: () => {
        if (this.client !== client) return;
        if (this.connected) this.droppedAt = Date.now();
        this.connected = false;
        this.redial(client);
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

  /** Drops a client whose connection failed or closed, and dials again shortly with a fresh one (whose first attempt is immediate). */
  private redial(client: GatewayClient): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    this.connected = false;
    client.stop();
    clearTimeout(this.redialTimer);
    this.redialTimer = setTimeout(() => {
      this.redialTimer = undefined;
      if (!this.closed && !this.client) this.start();
    }, REDIAL_MS);
    this.redialTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.redialTimer);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.stopAndWait({ timeoutMs: 2_000 }).catch(() => undefined);
  }
}
