// Sealing in the page: the same three envelope kinds the no-JS path writes (crypto/FORMAT.md),
// with typage (npm age-encryption), to the station recipients the form publishes.
import { Encrypter } from "age-encryption"

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
