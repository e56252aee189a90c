/**
 * The webhook endpoint (`POST /api/github/webhooks`), bounded and verifying before it trusts
 * anything. Anyone who can reach the port can send to it, so:
 *
 * - the body is streamed, never buffered past `maxBodyBytes` (25 MiB, GitHub's own cap): a
 *   declared `Content-Length` over it is answered `413` before a byte is read, a body that grows
 *   over it while streaming is answered `413` at that point, and the rest is not kept;
 * - the `X-Hub-Signature-256` header must be `sha256=` and 64 hex digits, or the request is
 *   refused before its body is read; the HMAC is computed over the raw bytes as they arrive and
 *   compared in constant time; only a body that verifies is decoded and parsed as JSON;
 * - all bodies being read at once hold at most `maxBufferedBytes` between them (`503` beyond);
 * - a body that has not arrived in full within `bodyTimeoutMs` (30 s) is answered `408` and the
 *   connection closed (the HTTP server bounds the headers separately);
 * - a refused request is logged as one short line — delivery id, event, size, status and why,
 *   header values cut short and stripped to plain characters — and never its payload.
 *
 * With `record` (the app: `src/inbox/`), a verified delivery is recorded in the ledger's inbox
 * (together with the others arriving at the same moment: one transaction, one write to disk)
 * and answered `202` as soon as the ledger holds it, whether it was new or recorded already (a
 * redelivery); `503` when the ledger could not record it (GitHub then lists the delivery as
 * failed, and the catch-up asks for it again). The inbox processes it after the answer.
 *
 * Without `record`, a verified delivery goes to `receive` (Probot's `webhooks.receive`), and is
 * answered as `@octokit/webhooks` answers it: `200` once the handlers have run, `202` when they
 * are still running after `answerAfterMs` (9 s), `500` when one failed (Probot's error handler logs it).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Log } from "../app/deps.js";
import { errorSummary } from "../util/error-message.js";

export const MAX_WEBHOOK_BODY_BYTES = 25 * 1024 * 1024;
export const WEBHOOK_BODY_TIMEOUT_MS = 30_000;
/** Bodies being read at once, together: four bodies of the maximum size. */
export const MAX_BUFFERED_WEBHOOK_BYTES = 4 * MAX_WEBHOOK_BODY_BYTES;
/** As `@octokit/webhooks`: answer 202 when the handlers take longer (GitHub waits 10 s). */
export const ANSWER_AFTER_MS = 9_000;
/**
 * How long the rest of a refused body is read and dropped before the connection is cut: long
 * enough for a busy sender to read the answer before the cut resets the connection (one second
 * was not, for a sender streaming on a loaded machine). Reading and dropping holds no memory.
 */
const LINGER_MS = 5_000;

export const DEFAULT_WEBHOOK_PATH = "/api/github/webhooks";

export interface VerifiedEvent {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

export interface WebhookEndpointOptions {
  secret: string;
  /** Hands a verified event to the app's handlers; resolves when they have run. Not called when `record` is given. */
  receive?(event: VerifiedEvent): Promise<void>;
  /**
   * Records a verified delivery (its body as received) for later processing; resolves once it is
   * durable. The delivery is then answered 202.
   */
  record?(event: { id: string; name: string; body: string }): Promise<"new" | "duplicate">;
  log: Log;
  path?: string;
  maxBodyBytes?: number;
  maxBufferedBytes?: number;
  bodyTimeoutMs?: number;
  answerAfterMs?: number;
  /** How long the rest of a refused body is drained before the connection is cut; 5 s. */
  lingerMs?: number;
}

/** Takes requests for the webhook path (returns true), leaves every other request (false). */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface WebhookEndpoint extends RouteHandler {
  /**
   * Resolves once no verified delivery is being handled: the handlers of every delivery
   * received so far have run to the end, answered 202 or not. For a stop: close the server
   * first (no new delivery), then wait for this, then close the ledger.
   */
  idle(): Promise<void>;
}

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;
const JSON_CONTENT_TYPE = /^\s*application\/json\s*(?:;|$)/i;

export function webhookEndpoint(options: WebhookEndpointOptions): WebhookEndpoint {
  const path = normalizePath(options.path ?? DEFAULT_WEBHOOK_PATH);
  const maxBodyBytes = options.maxBodyBytes ?? MAX_WEBHOOK_BODY_BYTES;
  const maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_WEBHOOK_BYTES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? WEBHOOK_BODY_TIMEOUT_MS;
  const answerAfterMs = options.answerAfterMs ?? ANSWER_AFTER_MS;
  const lingerMs = options.lingerMs ?? LINGER_MS;
  if (options.record === undefined && options.receive === undefined) throw new Error("webhookEndpoint needs record or receive");
  const { log } = options;
  let buffered = 0;
  const handling = new Set<Promise<void>>();

  const endpoint = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (normalizePath((request.url ?? "").split("?")[0]!) !== path) return false;
    const started = Date.now();
    const delivery = headerForLog(request.headers["x-github-delivery"]);
    const event = headerForLog(request.headers["x-github-event"]);
    const declared = request.headers["content-length"] === undefined ? null : Number(request.headers["content-length"]);
    let bytesRead = 0;

    /** Answers a refusal, logs its one line, and drains (then cuts) whatever is still coming. */
    const refuse = (status: number, why: string, extraHeaders: Record<string, string> = {}): void => {
      log.warn({ delivery, event, contentLength: declared, bytesRead, status }, `webhook refused (${status}): ${why}`);
      const incomplete = !request.complete;
      if (!response.headersSent) {
        // While the rest of the body is still coming, the connection is not closed together with
        // the answer (Node would, for a sender that asked for "Connection: close"): closing a
        // socket with unread bytes resets it, and the sender could lose the answer. Instead the
        // rest is read and dropped for `lingerMs`, then the connection is cut.
        const connection = incomplete && extraHeaders.connection === undefined ? { connection: "keep-alive" } : {};
        response
          .writeHead(status, { "content-type": "application/json", ...connection, ...extraHeaders })
          .end(JSON.stringify({ error: why }));
      }
      if (incomplete) {
        request.removeAllListeners("data");
        request.resume();
        const cut = setTimeout(() => request.socket.destroy(), lingerMs);
        cut.unref();
        request.once("end", () => clearTimeout(cut));
      }
    };

    if (request.method !== "POST") {
      refuse(405, `${safeText(request.method ?? "")} is not allowed here; GitHub delivers webhooks with POST`, { allow: "POST" });
      return true;
    }
    const contentType = request.headers["content-type"];
    if (contentType === undefined || !JSON_CONTENT_TYPE.test(contentType)) {
      refuse(415, "Content-Type must be application/json");
      return true;
    }
    const missing = ["x-github-event", "x-github-delivery", "x-hub-signature-256"].filter((name) => !request.headers[name]);
    if (missing.length > 0) {
      refuse(400, `missing header${missing.length === 1 ? "" : "s"} ${missing.join(", ")}`);
      return true;
    }
    const signature = SIGNATURE.exec(String(request.headers["x-hub-signature-256"]));
    if (signature === null) {
      refuse(400, "X-Hub-Signature-256 is not sha256= followed by 64 hex digits");
      return true;
    }
    if (declared !== null && declared > maxBodyBytes) {
      refuse(413, `the body is ${declared} bytes; the limit is ${maxBodyBytes}`);
      return true;
    }

    const hmac = createHmac("sha256", options.secret);
    const chunks: Buffer[] = [];
    let held = 0;
    let settled = false;
    const release = (): void => {
      buffered -= held;
      held = 0;
      chunks.length = 0;
    };
    const stop = (status: number, why: string, extraHeaders?: Record<string, string>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      release();
      refuse(status, why, extraHeaders);
    };
    const timer = setTimeout(
      () => stop(408, `the body did not arrive in full within ${bodyTimeoutMs / 1000} s`, { connection: "close" }),
      bodyTimeoutMs,
    );
    timer.unref();

    request.on("data", (chunk: Buffer) => {
      if (settled) return;
      bytesRead += chunk.length;
      if (bytesRead > maxBodyBytes) return stop(413, `the body is over the limit of ${maxBodyBytes} bytes`);
      if (buffered + chunk.length > maxBufferedBytes) {
        return stop(503, "too many webhook bodies are being received at once; try again", { "retry-after": "5" });
      }
      buffered += chunk.length;
      held += chunk.length;
      chunks.push(chunk);
      hmac.update(chunk);
    });
    request.on("error", () => undefined);
    request.on("close", () => {
      if (settled || request.complete) return;
      settled = true;
      clearTimeout(timer);
      release();
      log.warn(
        { delivery, event, contentLength: declared, bytesRead, status: null },
        "webhook refused: the sender closed the connection before the body was complete",
      );
    });
    request.on("end", () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const matches = timingSafeEqual(hmac.digest(), Buffer.from(signature[1]!, "hex"));
      const body = matches ? Buffer.concat(chunks, held) : null;
      release();
      if (body === null) return refuse(400, "the signature does not match the body and the webhook secret");
      const text = body.toString("utf8");
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch {
        return refuse(400, "the body is signed but is not JSON");
      }
      if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
        return refuse(400, "the body is signed but is not a JSON object");
      }
      const verified = {
        id: String(request.headers["x-github-delivery"]),
        name: String(request.headers["x-github-event"]),
        payload: payload as Record<string, unknown>,
      };
      const handled = options.record === undefined ? dispatch(verified) : recordThenAnswer(verified, text);
      handling.add(handled);
      void handled.finally(() => handling.delete(handled));
    });

    const recordThenAnswer = async (verified: VerifiedEvent, text: string): Promise<void> => {
      const action = typeof verified.payload.action === "string" ? headerForLog(verified.payload.action) : null;
      log.debug({ delivery, event, action, bytes: bytesRead }, `${event} event received (id: ${delivery})`);
      const answer = (status: number, body: Record<string, unknown>, extra: Record<string, string> = {}): void => {
        response.writeHead(status, { "content-type": "application/json", ...extra }).end(JSON.stringify(body));
        log.info(
          { delivery, event, action, status, ms: Date.now() - started },
          `webhook ${event}${action ? `.${action}` : ""} answered ${status}`,
        );
      };
      try {
        const recorded = await options.record!({ id: verified.id, name: verified.name, body: text });
        answer(202, { delivery: verified.id, recorded });
      } catch (error) {
        log.error({ delivery, event, action, error: errorSummary(error) }, "the delivery could not be recorded in the inbox");
        answer(
          503,
          { error: `the delivery could not be recorded; the app's log has the details (delivery ${delivery})` },
          { "retry-after": "30" },
        );
      }
    };

    const dispatch = async (verified: VerifiedEvent): Promise<void> => {
      const action = typeof verified.payload.action === "string" ? headerForLog(verified.payload.action) : null;
      log.debug({ delivery, event, action, bytes: bytesRead }, `${event} event received (id: ${delivery})`);
      let answered = false;
      const answer = (status: number, text: string, json = false): void => {
        if (answered) return;
        answered = true;
        response.writeHead(status, { "content-type": json ? "application/json" : "text/plain" }).end(text);
        log.info(
          { delivery, event, action, status, ms: Date.now() - started },
          `webhook ${event}${action ? `.${action}` : ""} answered ${status}`,
        );
      };
      const late = setTimeout(() => answer(202, "still processing\n"), answerAfterMs);
      late.unref();
      try {
        await options.receive!(verified);
        answer(200, "ok\n");
      } catch {
        // Probot's error handler has logged the handler's error (the event is verified).
        answer(
          500,
          JSON.stringify({ error: `the delivery could not be handled; the app's log has the details (delivery ${delivery})` }),
          true,
        );
      } finally {
        clearTimeout(late);
      }
    };
    return true;
  };
  return Object.assign(endpoint, {
    idle: async (): Promise<void> => {
      while (handling.size > 0) await Promise.allSettled([...handling]);
    },
  });
}

function normalizePath(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** A header value as it may appear in a log line: plain characters only, at most 64 of them. */
function headerForLog(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  const text = safeText(Array.isArray(value) ? value.join(",") : value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function safeText(text: string): string {
  return text.slice(0, 200).replace(/[^A-Za-z0-9._:/@+-]/g, "?");
}
