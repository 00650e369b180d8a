/** Where the CLI writes: data to stdout (with backpressure), messages to stderr. */
export interface Output {
  write(chunk: string): Promise<void>;
  log(message: string): void;
}

/** Output on the process's own streams. */
export const processOutput: Output = {
  write(chunk) {
    return new Promise((resolve, reject) => {
      process.stdout.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  },
  log(message) {
    process.stderr.write(`${message}\n`);
  },
};

/** Reads all of stdin as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
