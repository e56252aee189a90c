/**
 * The wall clock steps (NTP, an operator, a resumed VM) while the monotonic clock and the
 * timers run on: a grant the running app wrote still ends at its write time plus its duration
 * on the monotonic clock, and the DELETE that ends it goes out on time. The app runs in this
 * process against the simulator (helpers/sim-app.ts), on a clock the test moves and steps.
 */
import { describe, expect, it } from "@jest/globals";
import {
  approveRequest,
  closeStageAfterEach,
  REPO,
  requestsTo,
  runUntilGranted,
  SECRET_PATH,
  secretValue,
  type Stage,
  stageRequest,
  theGrant,
} from "./helpers/scenario.js";

let stage: Stage | undefined;
closeStageAfterEach(() => stage);

const FIFTEEN_MINUTES = 900_000;
const HOUR = 3_600_000;

describe("a 900 s grant made by the running app, the wall clock stepped 5 minutes in", () => {
  it.each([
    { way: "back", stepMs: -HOUR },
    { way: "forward", stepMs: HOUR },
  ])(
    "stepped $way an hour, it ends at 900 s on the monotonic clock",
    async ({ stepMs }) => {
      stage = await stageRequest({ duration: "15m" });
      const { app } = stage;
      const review = approveRequest(stage);
      await runUntilGranted(stage);
      const [put] = requestsTo(app, SECRET_PATH, "PUT");
      const writtenAt = put!.monotonicAt;

      await app.runUntil(() => app.clock.monotonic() >= writtenAt + 300_000, { stepMs: 5_000, maxMs: 400_000, what: "minute 5" });
      app.clock.stepWall(stepMs);
      // The next sweep notices the step and says so.
      await app.runUntil(() => app.logs.some((line) => line.includes("the wall clock stepped")), { maxMs: 120_000, what: "the warning" });
      const warning = JSON.parse(app.logs.find((line) => line.includes("the wall clock stepped"))!) as {
        level: number;
        stepMs: number;
        msg: string;
      };
      expect(warning).toMatchObject({ level: 40, stepMs });
      expect(warning.msg).toContain(stepMs < 0 ? "stepped back 3600 s" : "stepped forward 3600 s");

      // Stepped forward, the ledger's expiry has passed by the wall clock: the sweep leaves the grant to its timer.
      await app.runUntil(() => app.clock.monotonic() >= writtenAt + FIFTEEN_MINUTES - 5_000, {
        stepMs: 5_000,
        maxMs: FIFTEEN_MINUTES,
        what: "5 s before the end",
      });
      expect((await theGrant(app))!.state).toBe("active");
      expect(secretValue(app)).toBeDefined();

      await app.runUntil(
        async () => (await theGrant(app))?.state === "expired" && app.sim.labels(REPO, stage!.pr).includes("jit:expired"),
        {
          maxMs: 60_000,
          what: "the end",
        },
      );
      expect(secretValue(app)).toBeUndefined();
      // The DELETE went out on time: the write pacing compares monotonic readings, not wall-clock deadlines.
      const [deleted] = requestsTo(app, SECRET_PATH, "DELETE");
      expect(deleted!.monotonicAt).toBeGreaterThanOrEqual(writtenAt + FIFTEEN_MINUTES);
      expect(deleted!.monotonicAt).toBeLessThanOrEqual(writtenAt + FIFTEEN_MINUTES + 2_000);
      await review;
    },
    120_000,
  );
});
