// Loaded with `node --import` (allowed in NODE_OPTIONS): on SIGUSR2, writes the process's memory
// as Node and V8 see it (process.memoryUsage(), V8's heap spaces and its code statistics) to
// $BENCH_MEMORY_DIR/memory-<pid>-<n>.json, for bench/lib/heap-breakdown.ts. It collects no
// garbage and changes nothing else in the process.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";

const dir = process.env.BENCH_MEMORY_DIR;
if (dir) {
  let n = 0;
  process.on("SIGUSR2", () => {
    const report = {
      memoryUsage: process.memoryUsage(),
      heapSpaces: v8.getHeapSpaceStatistics(),
      code: v8.getHeapCodeStatistics(),
    };
    writeFileSync(join(dir, `memory-${process.pid}-${++n}.json`), JSON.stringify(report));
  });
}
