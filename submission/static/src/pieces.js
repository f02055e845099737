// A reader that hands out a stream (or a reader: read(), cancel()) in pieces of exactly `size`
// bytes (the last one shorter).
// tus-js-client keeps the piece in flight so a failed PATCH can be sent again; fed typage's
// 64 KiB chunks one by one it would grow that piece by copying it at every chunk.
//
// Sealing runs on the page's thread, and a stream's chunks follow each other as microtasks: the
// reader lets the event loop run (rendering, the cancel button, network events) every YIELD_BYTES,
// or a jitless browser would freeze for seconds per piece.
//
// Buffers go round instead of becoming garbage that V8 frees only after tens of MB of it:
// `release(chunk)` is told when a chunk of the stream has been copied whole into pieces, so that
// its producer may fill its buffer anew (pool.js); and the reader's reuse(piece) takes back a
// piece its caller will not read again, for a later read to fill.
const YIELD_BYTES = 1024 * 1024

// One MessageChannel per reader, not one per yield: each channel is a pair of Blink ports that
// only a full garbage collection frees.
function taskQueue() {
  let channel = null
  const waiting = []
  return {
    next() {
      if (channel === null) {
        channel = new MessageChannel()
        channel.port1.onmessage = () => waiting.shift()()
      }
      return new Promise((resolve) => {
        waiting.push(resolve)
        channel.port2.postMessage(null)
      })
    },
    close() {
      if (channel === null) return
      channel.port1.close()
      channel.port2.close()
      channel = null
      for (const resolve of waiting.splice(0)) resolve()
    },
  }
}

export function piecesOf(stream, size, release = () => {}) {
  // A reader given as such (the seal workers' runs, pool.js) waits on the workers' messages, so
  // the event loop runs between its reads: only a stream's reads need the yields.
  const yields = typeof stream.getReader === "function"
  const reader = yields ? stream.getReader() : stream
  const tasks = taskQueue()
  let sinceYield = 0
  let spare = null // bytes read past the end of the previous piece
  let whole = null // the chunk `spare` is the end of
  let done = false
  let free = null // a piece handed back
  return {
    async read() {
      if (done && spare === null) return { done: true, value: undefined }
      const piece = free || new Uint8Array(size)
      free = null
      let filled = 0
      while (filled < size) {
        let chunk = spare
        spare = null
        if (chunk === null) {
          const next = await reader.read()
          if (next.done) {
            done = true
            tasks.close()
            break
          }
          chunk = next.value
          whole = chunk
          sinceYield += chunk.length
          if (yields && sinceYield >= YIELD_BYTES) {
            sinceYield = 0
            await tasks.next()
          }
        }
        const take = Math.min(chunk.length, size - filled)
        piece.set(chunk.subarray(0, take), filled)
        filled += take
        if (take < chunk.length) spare = chunk.subarray(take)
        else release(whole)
      }
      if (filled === 0) return { done: true, value: undefined }
      return { done: false, value: filled === size ? piece : piece.slice(0, filled) }
    },
    reuse(piece) {
      if (piece.byteOffset === 0 && piece.byteLength === size && piece.buffer.byteLength === size) free = piece
    },
    cancel() {
      spare = null
      whole = null
      free = null
      done = true
      tasks.close()
      return reader.cancel()
    },
  }
}
