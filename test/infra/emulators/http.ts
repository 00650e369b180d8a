import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback, loopbackOrigin } from "../../../simulators/loopback.ts";

/** An HTTP answer. */
export interface Reply {
  status: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

/** Answers one request (its whole body read); a throw becomes a 500 naming the problem. */
export type Handler = (req: IncomingMessage, body: Buffer) => Promise<Reply> | Reply;

/** The whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, { status, body = "", headers = {} }: Reply): void {
  res.writeHead(status, { "content-length": String(Buffer.byteLength(body)), ...headers }).end(body);
}

/** An HTTP server on a random loopback port, started and stopped with its owner. */
export class LoopbackServer {
  private server: Server | undefined;

  constructor(private readonly handler: Handler) {}

  /** Starts it; returns `http://127.0.0.1:<port>`. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      readBody(req)
        .then((body) => this.handler(req, body))
        // An emulation bug must surface in the function's error, not as a hang.
        .catch((error: unknown): Reply => ({ status: 500, body: `emulator error: ${String(error)}` }))
        .then((reply) => send(res, reply));
    });
    await listenOnLoopback(this.server);
    return loopbackOrigin(this.server);
  }

  async stop(): Promise<void> {
    await closeServer(this.server);
    this.server = undefined;
  }
}
