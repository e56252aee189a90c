import type { LedgerStore } from "../../src/ledger/store.js";

type Method = Exclude<keyof LedgerStore, "close">;

export interface GatedLedger {
  /** Passes every call to the wrapped ledger, except a held one until it is released. */
  store: LedgerStore;
  /** Every call in order, as the method's name; `close` too. */
  calls: string[];
  /** Calls that arrived after `close()` had been called (each is a defect: nothing may touch a closed ledger). */
  afterClose: string[];
  /**
   * Holds the `nth` call (1-based) of `method` before it reaches the ledger. `reached` resolves
   * when that call arrives; `release()` lets it go on.
   */
  hold(method: Method, nth: number): { reached: Promise<void>; release(): void };
}

/** Wraps a ledger so that a test can stop a caller at one exact call and see what comes after. */
export function gatedLedger(inner: LedgerStore): GatedLedger {
  const calls: string[] = [];
  const afterClose: string[] = [];
  const counts = new Map<string, number>();
  const gates = new Map<string, { arrived(): void; open: Promise<void> }>();
  let closing = false;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== "string" || typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        calls.push(property);
        if (property === "close") closing = true;
        else if (closing) afterClose.push(property);
        const count = (counts.get(property) ?? 0) + 1;
        counts.set(property, count);
        const gate = gates.get(`${property}#${count}`);
        if (gate) {
          gate.arrived();
          await gate.open;
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    afterClose,
    hold(method, nth) {
      let arrived!: () => void;
      let release!: () => void;
      const reached = new Promise<void>((resolve) => (arrived = resolve));
      const open = new Promise<void>((resolve) => (release = resolve));
      gates.set(`${method}#${nth}`, { arrived, open });
      return { reached, release };
    },
  };
}
