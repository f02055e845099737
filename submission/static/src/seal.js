// Sealing in the page: the same three envelope kinds the no-JS path writes (crypto/FORMAT.md),
// with typage (npm age-encryption), to the station recipients the form publishes.
import { hkdf } from "@noble/hashes/hkdf.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Encrypter } from "age-encryption"
import { TAG_BYTES, sealChunks, sealedPayloadSize } from "./chunks.js"

const PAYLOAD_NONCE_BYTES = 16

// The no-JS path's bound on a file's base name (submission/receiver.py MAX_NAME_CHARS).
const MAX_NAME_CHARS = 255

export function encrypterFor(recipients) {
  const encrypter = new Encrypter()
  for (const recipient of recipients) encrypter.addRecipient(recipient)
  return encrypter
}

// The message exactly as the no-JS path seals it: line ends as LF, outer white space trimmed;
// null when there is nothing to send.
export function messageText(value) {
  const text = value.replace(/\r\n/g, "\n").trim()
  return text === "" ? null : text
}

// Python's json.dumps with ensure_ascii: every code unit above 0x7F as \uXXXX.
function asciiJSON(value) {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))
}

// The metadata envelope's plaintext, byte for byte what the no-JS receiver writes:
// {"name": base name, "type": declared media type}.
export function fileMetadata(file) {
  const name = Array.from(file.name.replace(/\\/g, "/").split("/").pop().trim()).slice(0, MAX_NAME_CHARS).join("")
  const type = Array.from(file.type || "application/octet-stream").slice(0, 255).join("")
  return '{"name": ' + asciiJSON(name) + ', "type": ' + asciiJSON(type) + "}"
}

// A small plaintext (the message, a file's metadata) sealed whole: a Blob of the envelope.
export async function sealSmall(encrypter, text) {
  return new Blob([await encrypter.encrypt(text)])
}

// A file's content sealed as it is read (File.stream(), one 64 KiB STREAM chunk at a time):
// the envelope's stream and its exact length, known before the first byte is sealed.
export async function sealFile(encrypter, file) {
  const sealed = await encrypter.encrypt(file.stream())
  return { stream: sealed, size: sealed.size(file.size) }
}

// A file's content sealed by the seal workers (pool.js): typage writes the header (the stanzas
// and their MAC) and the payload nonce, and hands the file key to a recipient of ours that adds
// no stanza; the payload key is derived from it as age does, and checked against the final
// chunk typage sealed.
async function headerAndPayloadKey(recipients) {
  let fileKey = null
  const encrypter = encrypterFor(recipients)
  encrypter.addRecipient({
    wrapFileKey(key) {
      fileKey = key.slice()
      return []
    },
  })
  const empty = await encrypter.encrypt(new Uint8Array(0)) // header, payload nonce, empty final chunk
  const start = empty.slice(0, empty.length - TAG_BYTES)
  const nonce = start.subarray(start.length - PAYLOAD_NONCE_BYTES)
  const key = hkdf(sha256, fileKey, nonce, new TextEncoder().encode("payload"), 32)
  const check = sealChunks(key, new Uint8Array(0), 0, true)
  if (check.some((byte, i) => byte !== empty[start.length + i])) throw new Error("the payload key is not typage's")
  return { start, key }
}

// `first`, then what `reader` reads: a reader (read(), cancel()) like a stream's.
function prepend(first, reader) {
  let head = first
  return {
    read() {
      if (head === null) return reader.read()
      const value = head
      head = null
      return Promise.resolve({ done: false, value })
    },
    cancel(reason) {
      head = null
      return reader.cancel(reason)
    },
  }
}

// The same envelope as sealFile's, its payload sealed by `pool`: `stream` is a reader of it (the
// pieces' reader takes either), and `release` takes back each chunk once it is copied
// (pool.js reuses the buffers).
export async function sealFileInPool(pool, recipients, file) {
  const { start, key } = await headerAndPayloadKey(recipients)
  const stream = prepend(start, pool.payload(key, file))
  return { stream, size: start.length + sealedPayloadSize(file.size), release: (chunk) => pool.recycle(chunk) }
}
