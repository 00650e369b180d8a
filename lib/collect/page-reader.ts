import type { EventPage, EventQuery, EventSource } from "../jumpcloud/client.ts";

/**
 * Reads a query's pages with the next one requested while the caller works on the current one
 * (maps and stores it): waiting on the API and working overlap, and at most one page is held
 * ahead, so memory stays flat. Hand-written: the read-ahead must start only when the caller says
 * (after it has decided how to read on), and a closed reader must abort the request in flight.
 */
export class PageReader {
  private readonly abort = new AbortController();
  private readonly pages: AsyncGenerator<EventPage>;
  private next: Promise<IteratorResult<EventPage>> | undefined;

  constructor(source: EventSource, query: EventQuery, signal: AbortSignal) {
    this.pages = source.pages(query, AbortSignal.any([signal, this.abort.signal]));
  }

  /** Requests the next page now, if it is not requested already. */
  readAhead(): void {
    if (this.next) return;
    this.next = this.pages.next();
    // Awaited by read(); until then a failure must not count as an unhandled rejection.
    this.next.catch(() => undefined);
  }

  /** The next page (the one read ahead, or requested now); undefined after the last. */
  async read(): Promise<EventPage | undefined> {
    this.readAhead();
    const result = await (this.next as Promise<IteratorResult<EventPage>>);
    this.next = undefined;
    return result.done ? undefined : result.value;
  }

  /** Abandons the page read ahead, if any: its request is aborted, nothing waits for it. */
  close(): void {
    this.abort.abort(new Error("page reader closed"));
    void this.pages.return(undefined).catch(() => undefined);
  }
}
