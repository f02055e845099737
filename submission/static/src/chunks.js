// age's STREAM payload (crypto/FORMAT.md, age-encryption.org/v1): the plaintext in 64 KiB chunks,
// each sealed on its own with ChaCha20-Poly1305 under the payload key, its nonce the chunk's
// 11-byte big-endian counter and a last-chunk flag. Chunks are independent, so any run of them
// can be sealed anywhere (a seal worker) and the runs put back in order.
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"

export const CHUNK_BYTES = 64 * 1024
export const TAG_BYTES = 16

// An empty plaintext is one empty final chunk; a plaintext of whole chunks ends in a full one.
export function chunkCount(size) {
  return Math.max(1, Math.ceil(size / CHUNK_BYTES))
}

export function sealedPayloadSize(size) {
  return size + TAG_BYTES * chunkCount(size)
}

export function chunkNonce(counter, last) {
  const nonce = new Uint8Array(12)
  for (let i = 10, rest = counter; i >= 0 && rest > 0; i--, rest = Math.floor(rest / 256)) nonce[i] = rest % 256
  nonce[11] = last ? 1 : 0
  return nonce
}

// Chunks `first`, `first + 1`, … of a payload, sealed: `plaintext` holds whole chunks but for a
// shorter final one, and `last` says the payload's final chunk is among them. The ciphertext is
// written into `spare` (an ArrayBuffer) when it is large enough, so buffers can go round.
export function sealChunks(key, plaintext, first, last, spare = null) {
  const count = chunkCount(plaintext.length)
  const length = plaintext.length + TAG_BYTES * count
  const sealed = spare !== null && spare.byteLength >= length ? new Uint8Array(spare, 0, length) : new Uint8Array(length)
  for (let i = 0; i < count; i++) {
    const chunk = plaintext.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)
    const at = i * (CHUNK_BYTES + TAG_BYTES)
    const cipher = chacha20poly1305(key, chunkNonce(first + i, last && i === count - 1))
    cipher.encrypt(chunk, sealed.subarray(at, at + chunk.length + TAG_BYTES))
  }
  return sealed
}
