import { describe, expect, it } from "@jest/globals";
import { canonicalSecretName, secretNameProblem } from "../../src/policy/secret-name.js";

describe("secretNameProblem", () => {
  it.each(["PROD_DB_URL", "prod_db_url", "_LEADING", "A", "X9", "GITHUB", "MY_GITHUB_TOKEN", "A".repeat(255)])("accepts %s", (name) => {
    expect(secretNameProblem(name)).toBeNull();
  });

  it.each([
    ["", "must not be empty"],
    ["A".repeat(256), "at most 255 characters"],
    ["PROD-DB", "may contain only letters, digits and _"],
    ["PROD DB", "may contain only letters, digits and _"],
    ["PROD.DB", "may contain only letters, digits and _"],
    ["ÄPFEL", "may contain only letters, digits and _"],
    ["1PASSWORD", "must not start with a digit"],
    ["GITHUB_TOKEN", "must not start with GITHUB_"],
    ["github_token", "must not start with GITHUB_"],
    ["GitHub_Token", "must not start with GITHUB_"],
  ])("rejects %j: %s", (name, fragment) => {
    expect(secretNameProblem(name)).toContain(fragment);
  });
});

describe("canonicalSecretName", () => {
  it.each([
    ["prod_db_url", "PROD_DB_URL"],
    ["Prod_Db_Url", "PROD_DB_URL"],
    ["PROD_DB_URL", "PROD_DB_URL"],
  ])("%s -> %s", (name, canonical) => {
    expect(canonicalSecretName(name)).toBe(canonical);
  });
});
