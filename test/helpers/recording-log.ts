import type { Log } from "../../src/app/deps.js";

/** A Log that keeps every entry, so tests can assert what was logged (and what never was). */
export interface LogEntry {
  level: "trace" | "debug" | "info" | "warn" | "error";
  fields: object;
  message: string;
}

export function recordingLog(): { log: Log; entries: LogEntry[]; messages: (level?: LogEntry["level"]) => string[] } {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry["level"]) =>
    (fields: object | string, message?: string): void => {
      if (typeof fields === "string") entries.push({ level, fields: {}, message: fields });
      else entries.push({ level, fields, message: message ?? "" });
    };
  return {
    log: { trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    entries,
    messages: (level) => entries.filter((entry) => level === undefined || entry.level === level).map((entry) => entry.message),
  };
}
