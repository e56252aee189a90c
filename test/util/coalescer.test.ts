import { describe, expect, it } from "@jest/globals";
import { Coalescer } from "../../src/util/coalescer.js";

/** A task the test finishes by hand, recording that it ran; `started` resolves when it does. */
function gate(log: string[], name: string) {
  let open!: () => void;
  let fail!: (error: Error) => void;
  let begun!: () => void;
  const done = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  const started = new Promise<void>((resolve) => (begun = resolve));
  return {
    task: async () => {
      log.push(name);
      begun();
      await done;
    },
    open,
    fail,
    started,
  };
}

describe("Coalescer", () => {
  it("runs the first call at once and folds calls made meanwhile into one more run, with the latest task", async () => {
    const coalescer = new Coalescer();
    const log: string[] = [];
    const first = gate(log, "first");
    const second = gate(log, "second");
    const third = gate(log, "third");
    const p1 = coalescer.run("pr-7", first.task);
    const p2 = coalescer.run("pr-7", second.task);
    const p3 = coalescer.run("pr-7", third.task);
    expect(log).toEqual(["first"]);
    first.open();
    await p1;
    await third.started;
    expect(log).toEqual(["first", "third"]);
    third.open();
    await Promise.all([p2, p3]);
    expect(log).toEqual(["first", "third"]);
    expect(coalescer.size).toBe(0);
  });

  it("keeps keys apart", async () => {
    const coalescer = new Coalescer();
    const log: string[] = [];
    const a = gate(log, "a");
    const b = gate(log, "b");
    const pa = coalescer.run("pr-1", a.task);
    const pb = coalescer.run("pr-2", b.task);
    expect(log).toEqual(["a", "b"]);
    a.open();
    b.open();
    await Promise.all([pa, pb]);
  });

  it("reports a failed run to the callers it covers and still runs the follow-up", async () => {
    const coalescer = new Coalescer();
    const log: string[] = [];
    const first = gate(log, "first");
    const second = gate(log, "second");
    const p1 = coalescer.run("k", first.task);
    const p2 = coalescer.run("k", second.task);
    first.fail(new Error("GitHub answered 502"));
    await expect(p1).rejects.toThrow("GitHub answered 502");
    await second.started;
    expect(log).toEqual(["first", "second"]);
    second.open();
    await expect(p2).resolves.toBeUndefined();
    expect(coalescer.size).toBe(0);
  });
});
