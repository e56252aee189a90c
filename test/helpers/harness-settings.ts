import type { LifecycleSettings } from "../../src/app/create-lifecycle-deps.js";

/** The settings the lifecycle reads, as test harnesses run it: GitHub's API, no notifications. */
export const HARNESS_SETTINGS: LifecycleSettings = { baseUrl: "https://api.github.com", notifyUrls: [] };
