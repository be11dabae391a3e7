/**
 * Modelled time for a benchmark: a discrete-event clock for the whole process. While it runs, every
 * `setTimeout` of 1 ms or more — Wait states and retry backoff in aws-local-stepfunctions (as the ASL says,
 * jitter included), the SDK's own retry backoff, the step latencies a benchmark adds — is a virtual timer
 * on the sandbox's clock, frozen (`Date.now()` stays real: the SDK signs with it and the sandbox checks it). When the process has nothing else to do (no HTTP request
 * in flight and nothing happened for a few turns of the event loop), the earliest timers fire and the
 * sandbox clock jumps to their time, completing what Managed Flink, IAM propagation and the request-rate
 * buckets had due. Computing costs no modelled time; only what is modelled (timers, durations) does.
 */
import http from 'node:http';
import type { Sandbox } from '../local/sandbox/sandbox';

interface Timer {
  id: number;
  due: number;
  fn: (...args: unknown[]) => void;
  args: unknown[];
}

/** Turns of the event loop with nothing in flight and nothing new before the clock may jump. */
const IDLE_TURNS = 3;

export class VirtualTime {
  private timers = new Map<number, Timer>();
  private nextId = 1;
  private inflight = 0;
  private activity = 0;
  private running = false;
  private readonly real = {
    setTimeout: globalThis.setTimeout,
    clearTimeout: globalThis.clearTimeout,
    request: http.request,
  };
  /** How many times the clock jumped (a cost of the benchmark itself, not of the model). */
  jumps = 0;
  /** Called as each HTTP request starts, in its caller's async context. */
  onRequest?: () => void;

  constructor(private readonly sandbox: Sandbox) {}

  now(): number {
    return this.sandbox.clock.now();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.sandbox.clock.freeze();
    const virtualSetTimeout = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
      if (!(Number(ms) >= 1)) return this.real.setTimeout(fn, ms, ...args);
      const timer: Timer = { id: this.nextId++, due: this.now() + Number(ms), fn, args };
      this.timers.set(timer.id, timer);
      this.activity++;
      const handle = {
        [Symbol.toPrimitive]: () => timer.id,
        ref: () => handle,
        unref: () => handle,
        hasRef: () => true,
        refresh: () => {
          timer.due = this.now() + Number(ms);
          this.timers.set(timer.id, timer);
          return handle;
        },
        close: () => this.timers.delete(timer.id),
        __virtual: timer.id,
      };
      return handle;
    };
    globalThis.setTimeout = virtualSetTimeout as unknown as typeof setTimeout;
    globalThis.clearTimeout = ((handle: any) => {
      if (handle && typeof handle === 'object' && '__virtual' in handle) this.timers.delete(handle.__virtual);
      else this.real.clearTimeout(handle);
    }) as typeof clearTimeout;
    // Every SDK call is an HTTP request to the sandbox: while one is in flight, time stands still.
    (http as { request: unknown }).request = (...args: unknown[]) => {
      const req = (this.real.request as (...a: unknown[]) => http.ClientRequest)(...args);
      this.inflight++;
      this.activity++;
      this.onRequest?.();
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        this.inflight--;
        this.activity++;
      };
      req.once('close', end);
      req.once('error', end);
      return req;
    };
    let seen = -1;
    let idle = 0;
    const turn = () => {
      if (!this.running) return;
      if (this.inflight === 0 && this.activity === seen && this.timers.size) idle++;
      else idle = 0;
      seen = this.activity;
      if (idle >= IDLE_TURNS) {
        idle = 0;
        this.fire();
      }
      this.real.setTimeout(turn, 0);
    };
    this.real.setTimeout(turn, 0);
  }

  /** Jumps to the earliest timers' time and runs every timer due then. */
  private fire(): void {
    const due = Math.min(...[...this.timers.values()].map((t) => t.due));
    if (due > this.now()) this.sandbox.advance(due - this.now());
    this.sandbox.tick();
    this.jumps++;
    this.activity++;
    const now = [...this.timers.values()].filter((t) => t.due <= due).sort((a, b) => a.id - b.id);
    for (const t of now) {
      this.timers.delete(t.id);
      try {
        t.fn(...t.args);
      } catch (e) {
        console.error('virtual timer failed:', e);
      }
    }
  }

  /** Modelled time passes for the caller only: `await vt.sleep(ms)`. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  stop(): void {
    this.running = false;
    globalThis.setTimeout = this.real.setTimeout;
    globalThis.clearTimeout = this.real.clearTimeout;
    (http as { request: unknown }).request = this.real.request;
    this.timers.clear();
  }
}
