import { describe, expect, it } from "@jest/globals";
import { createRequire } from "node:module";
import { sealSecret } from "../../src/grant/seal-secret.js";

/**
 * sealSecret loads libsodium at its first call. This file never loads libsodium itself: the keys
 * come from tweetnacl and the sealed boxes are opened with tweetsodium (both independent of
 * libsodium), so the first seals here are the ones that load it.
 */
const require = createRequire(import.meta.url);
const nacl = require("tweetnacl") as { box: { keyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } } };
const tweetsodium = require("tweetsodium") as {
  sealOpen(sealed: Uint8Array, publicKey: Uint8Array, secretKey: Uint8Array): Uint8Array | null;
};

describe("sealSecret, the first seals of a process", () => {
  it("seals correctly when several seals start together while libsodium is still loading", async () => {
    const keys = nacl.box.keyPair();
    const publicKeyBase64 = Buffer.from(keys.publicKey).toString("base64");
    const values = Array.from({ length: 8 }, (_, i) => `first-load value ${i} 🔐`);
    const sealed = await Promise.all(values.map((value) => sealSecret(value, publicKeyBase64)));
    const opened = sealed.map((box) => tweetsodium.sealOpen(Buffer.from(box, "base64"), keys.publicKey, keys.secretKey));
    expect(opened.map((bytes) => (bytes === null ? null : new TextDecoder().decode(bytes)))).toEqual(values);
    // Later seals use the same loaded library.
    const later = await sealSecret("later value", publicKeyBase64);
    const laterOpened = tweetsodium.sealOpen(Buffer.from(later, "base64"), keys.publicKey, keys.secretKey);
    expect(new TextDecoder().decode(laterOpened ?? new Uint8Array())).toBe("later value");
  });
});
