/**
 * Writes the JSON Schema of `jit-requests.yml`, generated from the zod schema, so that editors
 * can check the file as people type (`# yaml-language-server: $schema=…`).
 *
 *   tsx scripts/write-schema.ts [OUT]     OUT defaults to schema/jit-requests.schema.json
 *
 * The committed file is checked against this output by test/request/request-schema.test.ts.
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { requestsFileSchema } from "../src/request/request-schema.js";

export const SCHEMA_FILE = "schema/jit-requests.schema.json";
/** Names the schema without tying it to a host; editors find it through the file's modeline. */
export const SCHEMA_ID = "jit-requests.schema.json";

export function requestsJsonSchema(): Record<string, unknown> {
  const { $schema, title, description, ...rest } = z.toJSONSchema(requestsFileSchema, { target: "draft-2020-12" });
  return { $schema, $id: SCHEMA_ID, title, description, ...rest };
}

/** The file's exact text: two-space indentation and a final newline. */
export function renderRequestsJsonSchema(): string {
  return `${JSON.stringify(requestsJsonSchema(), null, 2)}\n`;
}

async function main(out: string): Promise<void> {
  await writeFile(resolve(out), renderRequestsJsonSchema());
  process.stdout.write(`wrote ${out}\n`);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) await main(process.argv[2] ?? SCHEMA_FILE);
