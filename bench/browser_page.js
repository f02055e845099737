// bench/browser.py's page: the intake page's own sealing code (submission/static/src/) over a
// chosen file, exactly as the page runs it (File -> seal workers, or File.stream() -> typage on
// the page's thread -> 4 MiB tus pieces), with the pieces handed back instead of uploaded. Bundled by
// esbuild into the bench's temporary site; like the page script, the bundle is also the seal
// workers' script.
import { piecesOf } from "../submission/static/src/pieces.js"
import { SealPool } from "../submission/static/src/pool.js"
import { encrypterFor, sealFile, sealFileInPool } from "../submission/static/src/seal.js"
import { serveSealing } from "../submission/static/src/sealworker.js"
import { PIECE_BYTES } from "../submission/static/src/upload.js"

const script = typeof document === "undefined" ? null : { src: document.currentScript.src, integrity: "" }

// Seal the file chosen in #file, with the workers or (`workers` false) on the page's thread;
// resolve to {seconds, bytes, sealed, workers, heapStart, heapPeak}.
async function benchSeal(recipient, workers) {
  const file = document.getElementById("file").files[0]
  const heap = () => (performance.memory ? performance.memory.usedJSHeapSize : 0)
  const heapStart = heap()
  let heapPeak = heapStart
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, heap())), 100)
  const start = performance.now()
  const pool = workers ? await SealPool.start(script) : null
  if (workers && pool === null) throw new Error("the seal workers did not start")
  const sealed = pool === null ? await sealFile(encrypterFor([recipient]), file) : await sealFileInPool(pool, [recipient], file)
  const reader = piecesOf(sealed.stream, PIECE_BYTES, sealed.release)
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
    reader.reuse(value) // as the upload's source does once the server has the piece
    heapPeak = Math.max(heapPeak, heap())
  }
  const seconds = (performance.now() - start) / 1000
  clearInterval(sampler)
  const workersUsed = pool === null ? 0 : pool.size
  if (pool !== null) pool.close()
  return { seconds, bytes, sealed: sealed.size, workers: workersUsed, heapStart, heapPeak }
}

if (typeof document === "undefined") serveSealing(self)
else window.benchSeal = benchSeal
