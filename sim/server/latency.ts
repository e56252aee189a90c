/** A delay before each API request is handled: `latencyMs`, give or take up to `jitterMs`. */
export interface LatencySetting {
  /** Milliseconds every request waits before the simulator handles it. Default 0. */
  latencyMs?: number;
  /** Each request's delay is drawn uniformly from latencyMs ± jitterMs (never below 0). Default 0. */
  jitterMs?: number;
  /**
   * Seeds the jitter's generator, so that a run draws the same delays in the same order (as far
   * as requests arrive in the same order). Default 1.
   */
  seed?: number;
}

function checked(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`Latency "${name}" must be a number of milliseconds >= 0, got ${String(value)}.`);
  return value;
}

/** mulberry32: a small, seedable generator of uniform numbers in [0, 1). Not for anything secret. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Latency {
  private latencyMs = 0;
  private jitterMs = 0;
  private seed = 1;
  private random: () => number = generator(1);

  constructor(setting: LatencySetting = {}) {
    this.set(setting);
  }

  /** Replaces the values; an omitted delay becomes 0, an omitted seed 1. The generator starts again from the seed. */
  set(setting: LatencySetting): void {
    const latencyMs = checked("latencyMs", setting.latencyMs ?? 0);
    const jitterMs = checked("jitterMs", setting.jitterMs ?? 0);
    const seed = setting.seed ?? 1;
    if (!Number.isInteger(seed)) throw new Error(`Latency "seed" must be a whole number, got ${String(seed)}.`);
    this.latencyMs = latencyMs;
    this.jitterMs = jitterMs;
    this.seed = seed;
    this.random = generator(seed);
  }

  get(): Required<LatencySetting> {
    return { latencyMs: this.latencyMs, jitterMs: this.jitterMs, seed: this.seed };
  }

  /** The delay for the next request; exactly 0 when both values are 0. */
  next(): number {
    if (this.jitterMs === 0) return this.latencyMs;
    return Math.max(0, this.latencyMs + (this.random() * 2 - 1) * this.jitterMs);
  }
}
