// A file's plaintext read in order, one run of bytes at a time, into buffers the caller hands in
// and gets back filled (pool.js gives them to the seal workers and takes them back).
//
// One stream per file, not a Blob slice and a stream per run: every slice, stream and reader is a
// Blink object that only a full garbage collection frees, and sealing into reused buffers makes
// no garbage that would trigger one, so per-run objects piled up by ~40 MB per GiB sealed.
// File.stream() is a byte stream: a BYOB reader fills our buffer itself; where it is not, its
// chunks are copied in.
export function runsOf(file) {
  const stream = file.stream()
  let byob = null
  try {
    byob = stream.getReader({ mode: "byob" })
  } catch {
    byob = null
  }
  const reader = byob || stream.getReader()
  let spare = null // bytes of a chunk past the end of the previous run (default reader only)
  let turn = Promise.resolve() // reads follow each other: each run starts where the last ended

  async function fillByob(buffer, length) {
    let filled = 0
    while (filled < length) {
      const { done, value } = await reader.read(new Uint8Array(buffer, filled, length - filled))
      if (done) throw new Error("the file ended before its size")
      buffer = value.buffer // the read moved the buffer: the same memory
      filled += value.length
    }
    return new Uint8Array(buffer, 0, length)
  }

  async function fillCopying(buffer, length) {
    const run = new Uint8Array(buffer, 0, length)
    let filled = 0
    while (filled < length) {
      let chunk = spare
      spare = null
      if (chunk === null) {
        const { done, value } = await reader.read()
        if (done) throw new Error("the file ended before its size")
        chunk = value
      }
      const take = Math.min(chunk.length, length - filled)
      run.set(chunk.subarray(0, take), filled)
      filled += take
      if (take < chunk.length) spare = chunk.subarray(take)
    }
    return run
  }

  return {
    // The next `length` bytes of the file in `buffer` (an ArrayBuffer of at least `length`
    // bytes, which the caller no longer touches): resolves to a Uint8Array of them.
    read(buffer, length) {
      const fill = byob === null ? fillCopying : fillByob
      const run = turn.then(() => fill(buffer, length))
      turn = run.catch(() => {})
      return run
    },
    cancel() {
      spare = null
      return reader.cancel().catch(() => {})
    },
  }
}
