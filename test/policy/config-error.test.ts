import { describe, expect, it } from "@jest/globals";
import { ConfigError } from "../../src/policy/config-error.js";

describe("ConfigError", () => {
  it("lists every problem as FILE:LINE:COL: path: message, leaving out an empty path", () => {
    const cause = new Error("underlying");
    const error = new ConfigError(
      "catalog.yml",
      [
        { line: 1, column: 1, path: "", message: "the catalog is empty" },
        { line: 7, column: 19, path: "secrets.PROD_DB_URL.max_duration", message: "bad duration" },
      ],
      { cause },
    );
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ConfigError");
    expect(error.file).toBe("catalog.yml");
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("catalog.yml:1:1: the catalog is empty\ncatalog.yml:7:19: secrets.PROD_DB_URL.max_duration: bad duration");
  });
});
