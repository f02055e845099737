// Inside a seal worker (submission/static/src/pool.js starts them from this same script): each
// job is a run of one file's STREAM chunks, read here from the File (passed by reference, so the
// plaintext never crosses the page's thread) and sealed; the ciphertext goes back transferred,
// not copied.
//
// Memory: a job's buffers are reused, never left to the garbage collector. The plaintext is read
// (a byte stream's BYOB reader) into a buffer this worker keeps for the next job, and the
// ciphertext is written into the `spare` buffer the page sends back once it has copied an earlier
// job's ciphertext into its upload piece. A fresh 1 MiB buffer per job is garbage that V8 frees
// only after tens of MB of it, in every worker: the renderer's memory rose and fell by ~150 MB.
import { sealChunks } from "./chunks.js"

// Blob.stream() is a byte stream in current browsers; where it is not, a buffer per job.
async function readInto(blob, buffer) {
  const size = blob.size
  if (size === 0) return new Uint8Array(buffer, 0, 0)
  let reader
  try {
    reader = blob.stream().getReader({ mode: "byob" })
  } catch {
    return new Uint8Array(await blob.arrayBuffer())
  }
  let view = buffer.byteLength >= size ? new Uint8Array(buffer, 0, size) : new Uint8Array(size)
  let filled = 0
  while (filled < size) {
    const { done, value } = await reader.read(view.subarray(filled))
    if (done) throw new Error("the file ended before its size")
    filled += value.length
    view = new Uint8Array(value.buffer, 0, size) // the read moved the buffer: the same memory
  }
  await reader.cancel()
  return view
}

export function serveSealing(scope) {
  const free = [] // plaintext buffers: one per job this worker is sealing at once
  scope.onmessage = async ({ data: { id, key, file, start, end, first, last, spare = null } }) => {
    let plaintext = null
    try {
      plaintext = await readInto(file.slice(start, end), free.pop() || new ArrayBuffer(0))
      const sealed = sealChunks(key, plaintext, first, last, spare)
      scope.postMessage({ id, sealed }, [sealed.buffer])
    } catch (error) {
      scope.postMessage({ id, error: String(error) })
    } finally {
      if (plaintext !== null) free.push(plaintext.buffer)
    }
  }
  scope.postMessage({ ready: true })
}
