/**
 * A progress bar on a terminal (redrawn in place), or one line per step when
 * the stream is not a terminal (a log, CI), so the output stays readable.
 */
export class Progress {
  private readonly stream: NodeJS.WriteStream
  private readonly totalSteps: number
  private readonly totalBytes: number
  private steps = 0
  private bytes = 0

  constructor(stream: NodeJS.WriteStream, totalSteps: number, totalBytes: number) {
    this.stream = stream
    this.totalSteps = totalSteps
    this.totalBytes = totalBytes
  }

  advance(bytes: number, label: string): void {
    this.steps += 1
    this.bytes += bytes
    const width = 24
    const filled = Math.round((this.steps / this.totalSteps) * width)
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.steps}/${this.totalSteps} files, ${megabytes(this.bytes)}/${megabytes(this.totalBytes)}`
    if (this.stream.isTTY) this.stream.write(`\r${bar} ${label.slice(0, 30).padEnd(30)}`)
    else this.stream.write(`${bar} ${label}\n`)
  }

  done(): void {
    if (this.stream.isTTY) this.stream.write('\n')
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
