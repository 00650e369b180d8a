import { createServer, request, type Server } from "node:http";
import { connect, type Socket } from "node:net";

/**
 * A forwarding HTTP proxy on loopback, as a corporate one behaves: CONNECT tunnels (https, and
 * what undici and hpagent send for any target) and absolute-form requests; it records each target.
 */
export class TestProxy {
  /** `host:port` of every target asked for, in order. */
  readonly targets: string[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  /** With `refuse`, every request and tunnel is answered with that status (407: credentials wanted). */
  constructor(options: { refuse?: number } = {}) {
    this.server = createServer((req, res) => {
      if (options.refuse !== undefined) {
        res.writeHead(options.refuse, { "proxy-authenticate": 'Basic realm="test"' }).end();
        return;
      }
      const url = new URL(req.url ?? "");
      this.targets.push(url.host);
      const upstream = request(url, { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on("error", () => res.writeHead(502).end());
      req.pipe(upstream);
    });
    this.server.on("connect", (req, client: Socket, head: Buffer) => {
      this.targets.push(req.url ?? "");
      if (options.refuse !== undefined) {
        client.end(`HTTP/1.1 ${options.refuse} Refused\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n`);
        return;
      }
      const [host = "", port = "443"] = (req.url ?? "").split(/:(?=\d+$)/);
      const upstream = connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
