/**
 * Reasons are free text and are accepted with markup in them (corpus files 55–57); what keeps
 * them harmless is how the check run renders them. Problem messages echo what was written
 * (an unknown key, an environment), so the failing check's summary is checked the same way.
 */
import { describe, expect, it } from "@jest/globals";
import { problemsCheck, requestTable } from "../../src/lifecycle/check-feedback.js";
import { oneEntry, readFixture, validateHostile } from "./helpers/validate-hostile.js";

/** Markup GitHub would act on: raw HTML, a link, an @mention that notifies. */
const ACTIVE_MARKUP: Array<[string, RegExp]> = [
  ["an HTML tag", /(?<!\\)<img/u],
  ["a Markdown link", /(?<!\\)\[[^\]]*(?<!\\)\]\(/u],
  ["an @mention", /@(?!\u200B)[A-Za-z0-9]/u],
];

describe("markup in an accepted reason is shown, not acted on", () => {
  it.each(["55-reason-html-injection.yml", "56-reason-team-mention.yml", "57-reason-javascript-link.yml"])("%s", (file) => {
    const { problems, requests } = validateHostile(readFixture(`requests/${file}`));
    expect(problems).toEqual([]);
    const table = requestTable(requests);
    for (const [, pattern] of ACTIVE_MARKUP) expect(table).not.toMatch(pattern);
    expect(table).toMatch(/INC-1/u);
  });
});

describe("markup echoed in a problem message is shown, not acted on", () => {
  it.each([
    ["an unknown key", `${oneEntry().trimEnd()}\n    "<img src=x onerror=alert(1)>": x\n`],
    ["an environment", oneEntry({ environment: '"[prod](javascript:alert(1)) @acme/admins"' })],
  ])("%s", (_name, text) => {
    const { problems } = validateHostile(text);
    expect(problems).not.toEqual([]);
    const { summary } = problemsCheck("jit-requests.yml", "a".repeat(40), problems);
    for (const [, pattern] of ACTIVE_MARKUP) expect(summary).not.toMatch(pattern);
  });
});
