import { readFile } from "node:fs/promises";
import { describe, expect, it } from "@jest/globals";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { renderRequestsJsonSchema, SCHEMA_FILE } from "../../scripts/write-schema.js";
import { REQUEST_KEYS, requestsFileSchema } from "../../src/request/request-schema.js";

const good = {
  requests: [{ secret: "PROD_DB_URL", environment: "production", duration: "2h", reason: "INC-4211: inspect stuck migrations" }],
};
const entry = good.requests[0];

/** The part of the generated schema that describes an entry's keys. */
interface RequestsSchema {
  properties: { requests: { anyOf: { items: { properties: Record<string, { description?: unknown }> } }[] } };
}

const cases: Array<[string, unknown, boolean]> = [
  ["a full entry", good, true],
  ["an empty list", { requests: [] }, true],
  ["requests: with nothing after it", { requests: null }, true],
  ["no requests key", {}, true],
  ["an unknown top-level key", { ...good, request: [] }, false],
  ["an unknown entry key", { requests: [{ ...entry, enviroment: "production" }] }, false],
  ["a missing reason", { requests: [{ ...entry, reason: undefined }] }, false],
  ["a number as duration", { requests: [{ ...entry, duration: 2 }] }, false],
  ["a list as reason", { requests: [{ ...entry, reason: ["a"] }] }, false],
  ["a bidi override in a secret", { requests: [{ ...entry, secret: "PROD\u202E_DB_URL" }] }, false],
  ["a NUL in a reason", { requests: [{ ...entry, reason: "INC-1 \u0000 hidden" }] }, false],
  ["requests as a map", { requests: { secret: "A" } }, false],
];

describe("the committed JSON Schema", () => {
  it("is what scripts/write-schema.ts generates from the zod schema (run `tsx scripts/write-schema.ts` after changing it)", async () => {
    const committed = await readFile(new URL(`../../${SCHEMA_FILE}`, import.meta.url), "utf8");
    expect(committed).toBe(renderRequestsJsonSchema());
  });

  it("is a draft 2020-12 schema with a title and description", async () => {
    const schema = JSON.parse(await readFile(new URL(`../../${SCHEMA_FILE}`, import.meta.url), "utf8")) as unknown;
    expect(schema).toMatchObject({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      title: expect.any(String),
      description: expect.any(String),
    });
  });

  describe("agrees with the zod schema", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    const validate = ajv.compile(JSON.parse(renderRequestsJsonSchema()) as object);

    it.each(cases)("%s", (_name, value, accepted) => {
      const json = JSON.parse(JSON.stringify(value)) as unknown;
      expect(validate(json)).toBe(accepted);
      expect(requestsFileSchema.safeParse(json).success).toBe(accepted);
    });

    it("accepts the example file of the documentation", async () => {
      const text = await readFile(new URL("../fixtures/requests/valid.yml", import.meta.url), "utf8");
      expect(validate(parse(text))).toBe(true);
    });
  });
});

describe("request keys", () => {
  it("are the four fields of an entry and break_glass, each described for editors", () => {
    expect(REQUEST_KEYS).toEqual(["secret", "environment", "duration", "reason", "break_glass"]);
    const schema = JSON.parse(renderRequestsJsonSchema()) as RequestsSchema;
    const properties = schema.properties.requests.anyOf[0]?.items.properties ?? {};
    for (const key of REQUEST_KEYS) expect(properties[key]?.description).toEqual(expect.any(String));
  });
});
