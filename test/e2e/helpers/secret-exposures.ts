/**
 * Where a catalog secret value shows up in anything a person or a log can see: the app's
 * output (every process of the world), comments and check runs on the world's pull requests,
 * and the ledger's files on disk. Tests expect the list to be empty; it names places, never the
 * value itself.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SECRET_VALUES } from "./catalog.js";
import type { World } from "./e2e-world.js";

export function secretExposures(world: World): string[] {
  const places: { where: string; text: string }[] = [];
  world.outputs().forEach((text, i) => places.push({ where: `output of app process ${i + 1}`, text }));
  for (const { repo, number } of world.pulls) {
    for (const comment of world.sim.comments(repo, number))
      places.push({ where: `comment ${comment.id} on ${repo}#${number}`, text: comment.body });
  }
  for (const repo of world.repos) {
    for (const run of world.sim.checkRuns(repo)) places.push({ where: `check run ${run.id} in ${repo}`, text: JSON.stringify(run.output) });
  }
  for (const file of readdirSync(world.dataDir).filter((name) => name.startsWith("jit-access.db"))) {
    places.push({ where: `ledger file ${file}`, text: readFileSync(join(world.dataDir, file)).toString("latin1") });
  }

  const found: string[] = [];
  for (const [name, value] of Object.entries(SECRET_VALUES)) {
    for (const { where, text } of places) if (text.includes(value)) found.push(`${name} in ${where}`);
  }
  return found;
}
