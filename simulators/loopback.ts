import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Faults waiting to be served, each `remaining` times, optionally only on one path. */
export class FaultQueue<F extends { kind: string }> {
  private readonly queue: { fault: F; path?: string; remaining: number }[] = [];

  add(fault: F, times: number, path?: string): void {
    this.queue.push({ fault, path, remaining: times });
  }

  /** The first fault for `path` (of one of `kinds`, when given), used up once. */
  take(path: string, kinds?: readonly F["kind"][]): F | undefined {
    const index = this.queue.findIndex(
      (f) =>
        (f.path === undefined || f.path === path) && (kinds === undefined || kinds.includes(f.fault.kind)),
    );
    if (index === -1) return undefined;
    const entry = this.queue[index] as (typeof this.queue)[number];
    if (--entry.remaining <= 0) this.queue.splice(index, 1);
    return entry.fault;
  }

  clear(): void {
    this.queue.length = 0;
  }
}

/** Starts `server` on a loopback port: `port`, or a random free one (0). */
export function listenOnLoopback(server: Server, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** `http://127.0.0.1:<port>` of a started server. */
export function loopbackOrigin(server: Server | undefined): string {
  const address = server?.address() as AddressInfo | null | undefined;
  if (!address) throw new Error("the server is not started");
  return `http://127.0.0.1:${address.port}`;
}

/** Stops a server, dropping open connections. */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
