import { expect } from "@jest/globals";
import { ConfigError } from "../../src/policy/config-error.js";

/** The ConfigError `run` throws; the test fails if it throws anything else, or nothing. */
export function configError(run: () => unknown): ConfigError {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

/** The ConfigError `run` rejects with; the test fails if it rejects with anything else, or resolves. */
export async function configErrorAsync(run: () => Promise<unknown>): Promise<ConfigError> {
  const thrown = await run().then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}
