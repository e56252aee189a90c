// Loaded with `node --import` (allowed in NODE_OPTIONS, unlike --cpu-prof): profiles the whole
// process with V8's sampling profiler and writes a .cpuprofile to $BENCH_CPU_PROFILE_DIR on exit.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // A session in the same thread answers synchronously, so this completes before exit.
    session.post("Profiler.stop", (error, result) => {
      if (error) {
        process.stderr.write(`cpu profile not written: ${error.message}\n`);
        return;
      }
      writeFileSync(join(dir, `app-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
