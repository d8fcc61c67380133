/**
 * A progress bar on stderr for long jobs. Drawn only when stderr is a terminal and --quiet is not
 * given; never written into pipes or logs. Redraws at most every 100 ms.
 */
export class Progress {
  private last = 0;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly enabled = Boolean(process.stderr.isTTY),
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number | undefined, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && (total === undefined || done < total)) return;
    this.last = now;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 60));
    const elapsed = (now - this.started) / 1000;
    let line: string;
    if (total && total > 0) {
      const frac = Math.min(1, done / total);
      const filled = Math.round(frac * width);
      const eta = frac > 0 ? elapsed / frac - elapsed : 0;
      line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)} % ${detail} eta ${eta.toFixed(0)} s`;
    } else {
      line = `${this.label} ${detail} ${elapsed.toFixed(0)} s`;
    }
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
    this.drawn = true;
  }

  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
