import { readFileSync } from "node:fs";
import { describe, expect, it } from "@jest/globals";

/**
 * The container image builds on the newest Node line package.json's engines name (the current
 * LTS), and every stage takes the same NODE_VERSION, so a build never mixes two lines (the addon
 * compiled in one stage must load in the runtime stage). docs/deploy.md names the same image.
 */
const dockerfile = readFileSync("Dockerfile", "utf8");
const engines = (JSON.parse(readFileSync("package.json", "utf8")) as { engines: { node: string } }).engines.node;
const majors = engines.split("||").map((range) => Number(/^\s*\^?(\d+)/u.exec(range)?.[1]));
const defaultVersion = /^ARG NODE_VERSION=(\S+)$/mu.exec(dockerfile)?.[1];
const froms = [...dockerfile.matchAll(/^FROM (\S+)/gmu)].map((match) => match[1]!);

describe("Dockerfile", () => {
  it("builds by default on the newest Node line that engines names", () => {
    expect(majors.every(Number.isInteger)).toBe(true);
    expect(defaultVersion).toBe(String(Math.max(...majors)));
  });

  it("takes every Node base image from NODE_VERSION, Debian bookworm, slim for the runtime", () => {
    const nodeImages = froms.filter((image) => image.startsWith("node:"));
    expect(nodeImages).toEqual(["node:${NODE_VERSION}-bookworm", "node:${NODE_VERSION}-bookworm-slim"]);
    expect(froms.at(-1)).toBe("node:${NODE_VERSION}-bookworm-slim");
  });

  it("is described in docs/deploy.md with the default's base images", () => {
    const deploy = readFileSync("docs/deploy.md", "utf8");
    expect(deploy).toContain(`\`node:${defaultVersion}-bookworm\``);
    expect(deploy).toContain(`\`node:${defaultVersion}-bookworm-slim\``);
    const named = [...deploy.matchAll(/node:(\d+)-bookworm/gu)].map((match) => match[1]);
    expect(new Set(named)).toEqual(new Set([defaultVersion]));
  });

  it("starts the server with npm start's Node flags", () => {
    const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: { start: string } }).scripts.start;
    const cmd = /^CMD (\[.*\])$/mu.exec(dockerfile)?.[1];
    expect(cmd).toBeDefined();
    const args = JSON.parse(cmd!) as string[];
    expect(args.join(" ")).toBe(start);
    expect(args.filter((arg) => arg.startsWith("--")).length).toBeGreaterThan(0);
  });
});
