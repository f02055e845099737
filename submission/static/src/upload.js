// One envelope uploaded with tus-js-client (tus 1.0: creation, resumption from the server's
// offset, termination). Resuming lasts as long as the page: nothing is kept in the browser's
// storage, since a sealed stream cannot be read again from its start after a reload.
import { Upload } from "tus-js-client"
import { piecesOf } from "./pieces.js"
import { PieceSource } from "./piecesource.js"

export const PIECE_BYTES = 4 * 1024 * 1024

// Waits between attempts, growing to a minute: 11 minutes of failures before giving up
// (a Tor circuit can take minutes to come back).
export const RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000, 30000, ...Array(10).fill(60000)]

// tus-js-client's own rule: retry unless the server refused the request (4xx other than
// 409 "offset mismatch" and 423 "locked").
function retryable(error) {
  const response = error.originalResponse
  const status = response ? response.getStatus() : 0
  return !(status >= 400 && status < 500) || status === 409 || status === 423
}

// Upload `body` (a Blob, or a sealed stream and its size; `release` takes back each of the
// stream's chunks once it is copied into a piece) as one envelope of `kind` for item `item`. `events` gets progress(sent), retrying() and the upload's abort handle via started().
// Resolves to the upload id.
export function uploadEnvelope({ endpoint, csrfToken, kind, item, body, size, release, events }) {
  return new Promise((resolve, reject) => {
    const stream = body instanceof Blob ? null : piecesOf(body, PIECE_BYTES, release)
    const upload = new Upload(stream || body, {
      endpoint,
      ...(stream === null ? {} : { fileReader: { openFile: async (reader) => new PieceSource(reader) } }),
      chunkSize: PIECE_BYTES,
      uploadSize: size,
      retryDelays: RETRY_DELAYS,
      metadata: { kind, item: String(item) },
      headers: { "X-CSRFToken": csrfToken },
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: true,
      onShouldRetry(error) {
        const again = retryable(error)
        if (again) events.retrying()
        return again
      },
      onProgress(sent) {
        events.progress(sent)
      },
      onError: reject,
      onSuccess() {
        resolve(upload.url.split("/").pop())
      },
    })
    events.started(upload)
    upload.start()
  })
}
