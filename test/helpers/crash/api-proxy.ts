import { once, type EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const REQUEST_LINE = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) \S+/;

/** Which answers an armed proxy withholds: a create's, or any write's. */
export type AnswerHold = 'create' | 'write';

const isHeld: Record<AnswerHold, (requestLine: string) => boolean> = {
  create: (line) => /^POST \/v1\/campaigns$/.test(line),
  write: (line) => !line.startsWith('GET ') && !line.startsWith('HEAD '),
};

/**
 * A TCP relay between the marketer's calls and the server. Armed, it withholds the next answer
 * to a create (or any write) and emits 'api-answer': the server has committed, the caller has
 * heard nothing, and a kill now is exactly the case Idempotency-Key and re-reads exist for.
 * Unarmed, it forwards bytes untouched; when the server is down, the caller's socket is closed.
 */
export class ApiProxy {
  #server: Server;
  #sockets = new Set<Socket>();
  #armed: AnswerHold | null = null;

  private constructor(
    server: Server,
    private readonly upstreamPort: number,
    private readonly activity: EventEmitter,
  ) {
    this.#server = server;
    server.on('connection', (client) => this.#relay(client));
  }

  static async start(upstreamPort: number, activity: EventEmitter): Promise<ApiProxy> {
    const server = createServer();
    const proxy = new ApiProxy(server, upstreamPort, activity);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Withhold the next answer of this kind (once), or (null) stop waiting for one. */
  arm(hold: AnswerHold | null): void {
    this.#armed = hold;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #relay(client: Socket): void {
    const upstream = connect(this.upstreamPort, '127.0.0.1');
    this.#sockets.add(client).add(upstream);
    let requestLine = '';
    let isWithholding = false;
    client.on('data', (chunk: Buffer) => {
      // Requests here are small and one at a time per connection: a chunk starts each one.
      const line = REQUEST_LINE.exec(chunk.toString('latin1', 0, 200))?.[0];
      if (line) requestLine = line.split('?')[0]!;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!isWithholding && this.#armed && isHeld[this.#armed](requestLine)) {
        this.#armed = null;
        isWithholding = true;
        this.activity.emit('api-answer');
      }
      if (!isWithholding) client.write(chunk);
    });
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('close', closeBoth).on('error', closeBoth);
    upstream.on('close', closeBoth).on('error', closeBoth);
  }
}
