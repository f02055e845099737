// Inside a seal worker (submission/static/src/pool.js starts them from this same script): each
// job is a run of one file's STREAM chunks, read by the page into a buffer that comes here
// transferred, and sealed into the `spare` ciphertext buffer the page handed back once it had
// copied an earlier job's ciphertext into its upload piece. Both buffers go back transferred,
// not copied, to be used again: the worker keeps nothing between jobs and makes no garbage of
// them (a fresh 1 MiB buffer per job is garbage that V8 frees only after tens of MB of it, in
// every worker: the renderer's memory rose and fell by ~150 MB).
import { sealChunks } from "./chunks.js"

export function serveSealing(scope) {
  scope.onmessage = ({ data: { id, key, plaintext, first, last, spare = null } }) => {
    try {
      const sealed = sealChunks(key, plaintext, first, last, spare)
      scope.postMessage({ id, sealed, plaintext }, [sealed.buffer, plaintext.buffer])
    } catch (error) {
      scope.postMessage({ id, error: String(error) })
    }
  }
  scope.postMessage({ ready: true })
}
