// Often enough to see a page's worth of growth; the kernel's high-water mark catches the rest.
const EVERY_MS = 100;

/** The process's resident set and heap, sampled on a timer from creation until `stop()`. */
export class RssSampler {
  peakRssBytes = 0;
  peakHeapBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), EVERY_MS);
    // A sampler never keeps the process alive.
    this.timer.unref();
  }

  /** Takes a last sample and stops. */
  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }

  private sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    this.peakRssBytes = Math.max(this.peakRssBytes, rss);
    this.peakHeapBytes = Math.max(this.peakHeapBytes, heapUsed);
  }
}
