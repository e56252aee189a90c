/**
 * Seals a secret value for an Actions environment, as GitHub requires: libsodium's anonymous
 * sealed box (`crypto_box_seal`) for the environment's public key, returned as standard base64.
 * Each call uses a fresh ephemeral key pair, so sealing the same value twice gives different output.
 *
 * libsodium is loaded at the first seal, not at start: its WebAssembly build and the 4 MiB of
 * memory it reserves are about 9 MiB of the server's resident memory, which a server that has
 * granted nothing yet does not need (docs/BENCHMARKS.md, scenario 4).
 */
import type Sodium from "libsodium-wrappers";

/** Length in bytes of a Curve25519 public key. */
const PUBLIC_KEY_BYTES = 32;
/** Standard (RFC 4648 §4) base64 of 32 bytes: 43 characters and one `=`. */
const BASE64_32_BYTES = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export async function sealSecret(value: string, publicKeyBase64: string): Promise<string> {
  const publicKey = decodePublicKey(publicKeyBase64);
  const sodium = await libsodium();
  const sealed = sodium.crypto_box_seal(new TextEncoder().encode(value), publicKey);
  return sodium.to_base64(sealed, sodium.base64_variants.ORIGINAL);
}

let loading: Promise<typeof Sodium> | null = null;

/** libsodium, loaded and initialised once; a failed load is tried again at the next seal. */
async function libsodium(): Promise<typeof Sodium> {
  loading ??= import("libsodium-wrappers").then(
    async ({ default: sodium }) => {
      await sodium.ready;
      return sodium;
    },
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

function decodePublicKey(publicKeyBase64: string): Uint8Array {
  if (!BASE64_32_BYTES.test(publicKeyBase64)) {
    throw new Error(
      `the environment public key is malformed: expected standard base64 of ${PUBLIC_KEY_BYTES} bytes ` +
        `(44 characters ending in "="), got ${publicKeyBase64.length} characters; ` +
        "fetch it again from GET /repos/{owner}/{repo}/environments/{environment}/secrets/public-key",
    );
  }
  return new Uint8Array(Buffer.from(publicKeyBase64, "base64"));
}
