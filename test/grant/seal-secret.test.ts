import { beforeAll, describe, expect, it } from "@jest/globals";
import { createRequire } from "node:module";
import sodium from "libsodium-wrappers";
import { sealSecret } from "../../src/grant/seal-secret.js";

/**
 * tweetsodium (unmaintained; kept only as a dev dependency) is an independent implementation of
 * libsodium's sealed boxes on tweetnacl. Pinned at 0.0.5: the published 0.0.6 ships without its
 * compiled dist/ and cannot be loaded.
 */
const tweetsodium = createRequire(import.meta.url)("tweetsodium") as {
  sealOpen(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null;
};

describe("sealSecret", () => {
  let keys: { publicKey: Uint8Array; privateKey: Uint8Array };
  let publicKeyBase64: string;

  beforeAll(async () => {
    await sodium.ready;
    keys = sodium.crypto_box_keypair();
    publicKeyBase64 = Buffer.from(keys.publicKey).toString("base64");
  });

  const values: Array<[string, string]> = [
    ["ASCII", "postgres://app:s3cr3t@db.internal:5432/prod?sslmode=require"],
    ["emoji", "🔐🗝️ key 👩‍👩‍👧‍👦"],
    ["CJK", "秘密の値・비밀번호・机密"],
    ["combining marks", "e\u0301 a\u0308 Z\u0335\u0317\u0353"],
    ["a 48 KB value", "x".repeat(48 * 1024)],
    ["a value with newlines", "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"],
  ];

  it.each(values)("seals %s so that libsodium's crypto_box_seal_open gives it back", async (_, value) => {
    const sealed = Buffer.from(await sealSecret(value, publicKeyBase64), "base64");
    const opened = sodium.crypto_box_seal_open(sealed, keys.publicKey, keys.privateKey);
    expect(new TextDecoder().decode(opened)).toBe(value);
  });

  it.each(values)("seals %s so that tweetsodium's sealOpen gives it back", async (_, value) => {
    const sealed = Buffer.from(await sealSecret(value, publicKeyBase64), "base64");
    const opened = tweetsodium.sealOpen(sealed, keys.publicKey, keys.privateKey);
    expect(opened).not.toBeNull();
    expect(new TextDecoder().decode(opened ?? new Uint8Array())).toBe(value);
  });

  it("returns standard base64 with padding, as GitHub expects", async () => {
    const sealed = await sealSecret("abc", publicKeyBase64);
    expect(sealed).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
    expect(sealed.length % 4).toBe(0);
    // 32-byte ephemeral key + 16-byte MAC + 3 bytes of message.
    expect(Buffer.from(sealed, "base64")).toHaveLength(51);
  });

  it("gives a different sealed box every time (ephemeral keys)", async () => {
    const sealings = await Promise.all(Array.from({ length: 5 }, () => sealSecret("same value", publicKeyBase64)));
    expect(new Set(sealings).size).toBe(5);
  });

  it("does not open with another key pair", async () => {
    const other = sodium.crypto_box_keypair();
    const sealed = Buffer.from(await sealSecret("value", publicKeyBase64), "base64");
    expect(() => sodium.crypto_box_seal_open(sealed, other.publicKey, other.privateKey)).toThrow();
  });

  const secretValue = "hunter2-SECRET-VALUE";
  it.each([
    ["empty", ""],
    ["31 bytes", Buffer.alloc(31, 7).toString("base64")],
    ["33 bytes", Buffer.alloc(33, 7).toString("base64")],
    ["URL-safe alphabet", Buffer.alloc(32, 0xfb).toString("base64url") + "="],
    ["unpadded", Buffer.alloc(32, 7).toString("base64").replace(/=+$/, "")],
    ["not base64", "this is not a key at all, not even close!!!="],
    ["surrounding whitespace", ` ${Buffer.alloc(32, 7).toString("base64")} `],
    ["non-canonical trailing bits", Buffer.alloc(32, 7).toString("base64").replace(/.=$/, "B=")],
  ])("rejects a public key that is %s, without the value in the error", async (_, key) => {
    const error = await sealSecret(secretValue, key).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain("the environment public key is malformed");
    expect((error as Error).message).not.toContain(secretValue);
  });
});
