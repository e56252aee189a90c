/**
 * The app's identity and GitHub's two credentials: the app JWT (RS256, signed with the app's
 * private key) and installation access tokens minted in exchange for it.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from "node:crypto";
import type { SimToken } from "./model/types.js";
import { GitHubError, badCredentials } from "./server/github-error.js";
import type { RateLimitKey } from "./server/rate-limit.js";
import type { Credential } from "./server/route.js";

const TOKEN_LIFETIME_MS = 60 * 60 * 1000;
/** GitHub rejects JWTs that expire more than ten minutes ahead; allow a minute of clock drift. */
const MAX_JWT_LIFETIME_S = 10 * 60 + 60;
const CLOCK_DRIFT_S = 60;

/** A fresh RSA key pair as Probot accepts it in PRIVATE_KEY (PKCS#1 PEM). */
export function generateAppPrivateKey(): string {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
  });
  return privateKey;
}

function decodeJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function randomToken(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  return `ghs_${[...randomBytes(36)].map((byte) => alphabet[byte % alphabet.length]).join("")}`;
}

export class AppAuth {
  /** Every key the app has (GitHub keeps each key an app generates until it is deleted). */
  private readonly publicKeys: KeyObject[];
  private readonly tokens = new Map<string, SimToken>();

  constructor(
    readonly appId: number,
    privateKeyPem: string,
    private readonly clock: () => Date,
  ) {
    this.publicKeys = [createPublicKey(privateKeyPem)];
  }

  /** Accepts JWTs signed with another key of the app (a key generated for it later). */
  addKey(privateKeyPem: string): void {
    this.publicKeys.push(createPublicKey(privateKeyPem));
  }

  /** Checks a JWT as GitHub does; throws 401 with GitHub's wording when it is not acceptable. */
  verifyJwt(jwt: string): void {
    const [headerPart, payloadPart, signaturePart, extra] = jwt.split(".");
    if (!headerPart || !payloadPart || !signaturePart || extra !== undefined) {
      throw new GitHubError(401, "A JSON web token could not be decoded");
    }
    const header = decodeJson(headerPart);
    const claims = decodeJson(payloadPart);
    if (!header || !claims || header.alg !== "RS256") throw new GitHubError(401, "A JSON web token could not be decoded");
    const signed = this.publicKeys.some((key) =>
      verify("RSA-SHA256", Buffer.from(`${headerPart}.${payloadPart}`), key, Buffer.from(signaturePart, "base64url")),
    );
    if (!signed) throw new GitHubError(401, "A JSON web token could not be decoded");
    if (String(claims.iss) !== String(this.appId)) {
      throw new GitHubError(
        401,
        `'Issuer' claim ('iss') must be an Integer or the app's client ID; ${String(claims.iss)} is not this app (${this.appId})`,
      );
    }
    const now = Math.floor(this.clock().getTime() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== "number" || iat > now + CLOCK_DRIFT_S) {
      throw new GitHubError(401, "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued");
    }
    if (typeof exp !== "number" || exp <= now) {
      throw new GitHubError(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (exp > now + MAX_JWT_LIFETIME_S) {
      throw new GitHubError(401, "'Expiration time' claim ('exp') is too far in the future");
    }
  }

  mint(installationId: number, repositoryIds: number[] | null): SimToken {
    const token: SimToken = {
      token: randomToken(),
      installationId,
      expiresAt: new Date(this.clock().getTime() + TOKEN_LIFETIME_MS),
      revoked: false,
      repositoryIds,
    };
    this.tokens.set(token.token, token);
    return token;
  }

  /** Marks tokens expired (all, or one installation's): later requests with them get 401. */
  expireTokens(installationId?: number): number {
    let count = 0;
    for (const token of this.tokens.values()) {
      if (installationId === undefined || token.installationId === installationId) {
        token.revoked = true;
        count += 1;
      }
    }
    return count;
  }

  /** The installation of a current token, or undefined (unknown, expired or revoked). */
  installationOfToken(secret: string): number | undefined {
    const token = this.tokens.get(secret);
    if (!token || token.revoked || token.expiresAt.getTime() <= this.clock().getTime()) return undefined;
    return token.installationId;
  }

  /** Whose rate limit budget a request with this Authorization header draws on (not verified). */
  rateLimitKey(header: string | undefined): RateLimitKey {
    const secret = /^(?:token|bearer)\s+(\S+)$/i.exec(header?.trim() ?? "")?.[1];
    if (secret === undefined) return { kind: "anonymous" };
    const installationId = this.installationOfToken(secret);
    if (installationId !== undefined) return { kind: "installation", installationId };
    return secret.split(".").length === 3 ? { kind: "app" } : { kind: "anonymous" };
  }

  /** The credential in an Authorization header, checked for the kind the route needs. */
  authenticate(header: string | undefined, needed: "app" | "installation"): Credential {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header?.trim() ?? "");
    if (!match?.[1]) {
      throw new GitHubError(401, needed === "app" ? "A JSON web token could not be decoded" : "Requires authentication");
    }
    const secret = match[1];
    if (needed === "app") {
      this.verifyJwt(secret);
      return { kind: "app" };
    }
    const token = this.tokens.get(secret);
    if (!token || token.revoked || token.expiresAt.getTime() <= this.clock().getTime()) throw badCredentials();
    return { kind: "installation", token };
  }
}
