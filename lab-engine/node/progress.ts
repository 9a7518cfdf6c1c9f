/**
 * A batch's progress on stderr (stdout stays for results): redrawn in place with \r on a
 * terminal; otherwise (a log, CI) one line each time another ~10 % is done.
 */
export class Progress {
  #done = 0;
  #lastTenth = 0;
  readonly #tty: boolean;
  readonly total: number;
  readonly stream: NodeJS.WriteStream;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.total = total;
    this.stream = stream;
    this.#tty = Boolean(stream.isTTY);
  }

  tick(label = ''): void {
    this.#done++;
    if (this.total === 0) return;
    const pct = Math.floor((this.#done / this.total) * 100);
    if (this.#tty) {
      const width = 30;
      const filled = Math.round((this.#done / this.total) * width);
      this.stream.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.#done}/${this.total} ${label}`.slice(0, (this.stream.columns || 80) - 1).padEnd(Math.min(79, (this.stream.columns || 80) - 1)));
      if (this.#done === this.total) this.stream.write('\n');
    } else {
      const tenth = Math.floor((this.#done * 10) / this.total);
      if (tenth > this.#lastTenth || this.#done === this.total) {
        this.#lastTenth = tenth;
        this.stream.write(`graded ${this.#done}/${this.total} (${pct}%)\n`);
      }
    }
  }
}
