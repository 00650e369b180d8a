/** Where the CLI reads and writes: data on stdout (with backpressure), messages on stderr, input on stdin. */
export interface CliIo {
  write(chunk: string): Promise<void>;
  log(message: string): void;
  readStdin(): Promise<string>;
  /** Stdin chunk by chunk, for input too large to hold (readStdin is used when absent). */
  readStdinChunks?(): AsyncIterable<Uint8Array>;
  /** A terminal for progress bars; undefined when stderr is a file or a pipe (plain log lines then). */
  terminal?: NodeJS.WritableStream | undefined;
}

/** The process's own streams. */
export const processIo: CliIo = {
  write(chunk) {
    return new Promise((resolve, reject) => {
      process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  },
  log(message) {
    process.stderr.write(`${message}\n`);
  },
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  },
  readStdinChunks: () => process.stdin,
  terminal: process.stderr.isTTY ? process.stderr : undefined,
};
