// Inside a seal worker (submission/static/src/pool.js starts them from this same script): each
// job is a run of one file's STREAM chunks, read here from the File (passed by reference, so the
// plaintext never crosses the page's thread) and sealed; the ciphertext goes back transferred,
// not copied. The worker holds no state between jobs.
import { sealChunks } from "./chunks.js"

export function serveSealing(scope) {
  scope.onmessage = async ({ data: { id, key, file, start, end, first, last } }) => {
    try {
      const plaintext = new Uint8Array(await file.slice(start, end).arrayBuffer())
      const sealed = sealChunks(key, plaintext, first, last)
      scope.postMessage({ id, sealed }, [sealed.buffer])
    } catch (error) {
      scope.postMessage({ id, error: String(error) })
    }
  }
  scope.postMessage({ ready: true })
}
