/**
 * Environment key pairs and opening of sealed boxes, the way GitHub stores Actions secrets:
 * clients seal with `crypto_box_seal` for the environment's public key; GitHub opens them.
 */
import sodium from "libsodium-wrappers";

export interface BoxKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

/** libsodium, once its WebAssembly has loaded. Call before any other function here. */
export async function sodiumReady(): Promise<void> {
  await sodium.ready;
}

export function newBoxKeyPair(): BoxKeyPair {
  const { publicKey, privateKey } = sodium.crypto_box_keypair();
  return { publicKey, privateKey };
}

export function toBase64(bytes: Uint8Array): string {
  return sodium.to_base64(bytes, sodium.base64_variants.ORIGINAL);
}

/**
 * Opens a base64 sealed box; `undefined` when it is not valid base64, was sealed for another
 * key, or is not valid UTF-8 (GitHub answers 422 in those cases).
 */
export function openSealedBox(encryptedBase64: string, keys: BoxKeyPair): string | undefined {
  let ciphertext: Uint8Array;
  try {
    ciphertext = sodium.from_base64(encryptedBase64, sodium.base64_variants.ORIGINAL);
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
  if (ciphertext.length < sodium.crypto_box_SEALBYTES) return undefined;
  let plain: Uint8Array;
  try {
    plain = sodium.crypto_box_seal_open(ciphertext, keys.publicKey, keys.privateKey);
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(plain);
  } catch (error) {
    if (error instanceof TypeError) return undefined;
    throw error;
  }
}

/** Seals a value for a public key (base64 in, base64 out), as a GitHub client does. */
export function sealForPublicKey(value: string, publicKeyBase64: string): string {
  const publicKey = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  return toBase64(sodium.crypto_box_seal(value, publicKey));
}
