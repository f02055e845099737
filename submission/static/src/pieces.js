// A reader that hands out a stream in pieces of exactly `size` bytes (the last one shorter).
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

function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}

export function piecesOf(stream, size, release = () => {}) {
  const reader = stream.getReader()
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
            break
          }
          chunk = next.value
          whole = chunk
          sinceYield += chunk.length
          if (sinceYield >= YIELD_BYTES) {
            sinceYield = 0
            await nextTask()
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
      return reader.cancel()
    },
  }
}
