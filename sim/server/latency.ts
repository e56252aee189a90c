/** A delay before each API request is handled: `latencyMs`, give or take up to `jitterMs`. */
export interface LatencySetting {
  /** Milliseconds every request waits before the simulator handles it. Default 0. */
  latencyMs?: number;
  /** Each request's delay is drawn uniformly from latencyMs ± jitterMs (never below 0). Default 0. */
  jitterMs?: number;
}

function checked(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`Latency "${name}" must be a number of milliseconds >= 0, got ${String(value)}.`);
  return value;
}

export class Latency {
  private latencyMs = 0;
  private jitterMs = 0;

  constructor(setting: LatencySetting = {}) {
    this.set(setting);
  }

  /** Replaces both values; an omitted one becomes 0. */
  set(setting: LatencySetting): void {
    const latencyMs = checked("latencyMs", setting.latencyMs ?? 0);
    const jitterMs = checked("jitterMs", setting.jitterMs ?? 0);
    this.latencyMs = latencyMs;
    this.jitterMs = jitterMs;
  }

  get(): Required<LatencySetting> {
    return { latencyMs: this.latencyMs, jitterMs: this.jitterMs };
  }

  /** The delay for the next request; exactly 0 when both values are 0. */
  next(): number {
    if (this.jitterMs === 0) return this.latencyMs;
    return Math.max(0, this.latencyMs + (Math.random() * 2 - 1) * this.jitterMs);
  }
}
