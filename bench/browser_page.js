// bench/browser.py's page: the intake page's own sealing code (submission/static/src/) over a
// chosen file, exactly as the page runs it (File.stream() -> typage -> 4 MiB tus pieces), with
// the pieces dropped instead of uploaded. Bundled by esbuild into the bench's temporary site.
import { piecesOf } from "../submission/static/src/pieces.js"
import { encrypterFor, sealFile } from "../submission/static/src/seal.js"
import { PIECE_BYTES } from "../submission/static/src/upload.js"

// Seal the file chosen in #file; resolve to {seconds, bytes, sealed, heapStart, heapPeak}.
window.benchSeal = async function benchSeal(recipient) {
  const file = document.getElementById("file").files[0]
  const heap = () => (performance.memory ? performance.memory.usedJSHeapSize : 0)
  const heapStart = heap()
  let heapPeak = heapStart
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, heap())), 100)
  const start = performance.now()
  const sealed = await sealFile(encrypterFor([recipient]), file)
  const reader = piecesOf(sealed.stream, PIECE_BYTES)
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
    heapPeak = Math.max(heapPeak, heap())
  }
  const seconds = (performance.now() - start) / 1000
  clearInterval(sampler)
  return { seconds, bytes, sealed: sealed.size, plaintext: file.size, heapStart, heapPeak }
}
