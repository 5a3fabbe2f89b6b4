/**
 * The live progress line's "/s": drivers report their counters about once a second while the progress line is
 * printed every 200 ms, so a rate over one progress interval shows 0 between reports and 5x the real rate when one
 * arrives. This rate is measured between the times the total was seen to change, over at least `windowMs`: a
 * counter update's whole increment is divided by the time since an earlier update, never by 200 ms.
 */
export class ProgressRate {
  /** (time the total was seen to change, total); bounded: samples older than the window are dropped. */
  private samples: Array<{ atMs: number; total: number }> = [];

  constructor(
    private readonly windowMs = 3000,
    /** With no change for this long, the rate is 0 (stalled), whatever the window held. */
    private readonly stalledMs = 2500,
  ) {}

  /** Feeds the current total at atMs; returns the rate per second. */
  update(atMs: number, total: number): number {
    const last = this.samples[this.samples.length - 1];
    if (last && total !== last.total && atMs - last.atMs >= this.stalledMs) {
      // After a stall the increment's spread in time is unknown: start over from this update.
      this.samples = [];
    }
    if (!last || total !== last.total) this.samples.push({ atMs, total });
    // Keep one sample at or beyond the window's start, drop older ones (at most a window's worth are kept).
    while (this.samples.length > 2 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.windowMs) this.samples.shift();
    const newest = this.samples[this.samples.length - 1];
    const oldest = this.samples[0];
    if (!newest || !oldest || newest === oldest) return 0;
    if (atMs - newest.atMs >= this.stalledMs) return 0;
    return ((newest.total - oldest.total) * 1000) / (newest.atMs - oldest.atMs);
  }
}
