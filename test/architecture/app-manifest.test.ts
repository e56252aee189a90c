import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";
import { parse } from "yaml";

/**
 * The manifest (app.yml) asks for every event the app handles, and each event and permission
 * comes with the reason the app needs it (the comment lines right above it).
 */
const text = readFileSync("app.yml", "utf8");
const manifest = parse(text) as { default_events: string[]; default_permissions: Record<string, string> };
const handled = [...readFileSync("src/app/jit-access-app.ts", "utf8").matchAll(/"([a-z_]+)\.[a-z_]+"/gu)].map((match) => match[1]!);

/** The comment lines right above the line `  KEY` (a list item or a map key) in app.yml. */
function reasonFor(line: RegExp): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => line.test(l));
  expect(at).toBeGreaterThan(0);
  const comments: string[] = [];
  for (let i = at - 1; i >= 0 && /^\s*#/u.test(lines[i]!); i--) comments.unshift(lines[i]!.replace(/^\s*#\s?/u, ""));
  return comments.join(" ");
}

describe("app.yml", () => {
  it("subscribes to every event the app handles, and to nothing else", () => {
    expect(handled.length).toBeGreaterThan(3);
    expect([...new Set(handled)].sort()).toEqual([...manifest.default_events].sort());
  });

  it.each(["pull_request", "pull_request_review", "issue_comment", "deployment_protection_rule"])(
    "gives the reason for the %s event",
    (event) => {
      expect(reasonFor(new RegExp(`^  - ${event}$`, "u")).length).toBeGreaterThan(40);
    },
  );

  it("asks for the workflow gate's permissions: deployments write, actions read; not administration", () => {
    expect(manifest.default_permissions).toMatchObject({ deployments: "write", actions: "read" });
    expect(manifest.default_permissions).not.toHaveProperty("administration");
  });

  it.each(Object.keys(manifest.default_permissions))("gives the reason for the %s permission", (permission) => {
    expect(reasonFor(new RegExp(`^  ${permission}: `, "u")).length).toBeGreaterThan(30);
  });
});
