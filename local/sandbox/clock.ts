/**
 * The sandbox's notion of time. Real time by default; tests and the control endpoint can move it
 * forward so that asynchronous work (application updates, role propagation, session expiry) completes
 * without sleeping.
 */
export class Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    if (!(ms >= 0)) throw new Error(`clock can only move forward (got ${ms})`);
    this.offset += ms;
  }
  date(): Date {
    return new Date(this.now());
  }
}
