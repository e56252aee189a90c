/**
 * Webhook payload templates from @octokit/webhooks-examples (GitHub's own example deliveries).
 * Read once per process on first use.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

type Payload = Record<string, unknown>;
interface Definition {
  name: string;
  examples: Payload[];
}

const require = createRequire(import.meta.url);
const EXAMPLES_PATH = require.resolve("@octokit/webhooks-examples");

let loading: Promise<WebhookExamples> | undefined;

export function loadWebhookExamples(): Promise<WebhookExamples> {
  loading ??= readFile(EXAMPLES_PATH, "utf8").then((text) => new WebhookExamples(JSON.parse(text) as Definition[]));
  return loading;
}

export class WebhookExamples {
  constructor(private readonly definitions: Definition[]) {}

  /**
   * A deep copy of GitHub's example for `event` and `action` (one that carries an
   * installation when there is one), falling back to any example of the event.
   */
  example(event: string, action: string): Payload {
    const examples = this.definitions.find((definition) => definition.name === event)?.examples ?? [];
    const forAction = examples.filter((example) => example.action === action);
    const chosen =
      forAction.find((example) => "installation" in example) ??
      forAction[0] ??
      examples.find((example) => "installation" in example) ??
      examples[0];
    if (!chosen) throw new Error(`@octokit/webhooks-examples has no example for the "${event}" event.`);
    return structuredClone(chosen);
  }
}
