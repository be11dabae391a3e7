/**
 * The sandbox's notion of time. Real time by default; tests and the control endpoint can move it
 * forward so that asynchronous work (application updates, role propagation, session expiry, request
 * rate buckets) completes without sleeping, and a test can freeze it so that only `advance` moves it.
 */
export class Clock {
  private offset = 0;
  private frozenAt?: number;
  now(): number {
    return this.frozenAt ?? Date.now() + this.offset;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`clock can only move forward (got ${ms})`);
    if (this.frozenAt !== undefined) this.frozenAt += ms;
    else this.offset += ms;
  }
  /** Stops real time from passing: e.g. token buckets refill only when the test advances the clock. */
  freeze(): void {
    this.frozenAt = this.now();
  }
  date(): Date {
    return new Date(this.now());
  }
}
