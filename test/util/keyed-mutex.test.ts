import { describe, expect, it } from "@jest/globals";
import { KeyedMutex } from "../../src/util/keyed-mutex.js";

describe("KeyedMutex", () => {
  it("runs tasks of one key one after another, in order", async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    let releaseFirst!: () => void;
    const first = mutex.run("k", async () => {
      events.push("first start");
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      events.push("first end");
    });
    const second = mutex.run("k", async () => {
      events.push("second");
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(["first start"]);
    releaseFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(["first start", "first end", "second"]);
    expect(mutex.size).toBe(0);
  });

  it("lets different keys run at the same time", async () => {
    const mutex = new KeyedMutex();
    let releaseA!: () => void;
    const a = mutex.run("a", () => new Promise<void>((resolve) => (releaseA = resolve)));
    await expect(mutex.run("b", async () => "b done")).resolves.toBe("b done");
    releaseA();
    await a;
  });

  it("releases the key when a task fails", async () => {
    const mutex = new KeyedMutex();
    await expect(mutex.run("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(mutex.run("k", async () => 1)).resolves.toBe(1);
    expect(mutex.size).toBe(0);
  });
});
