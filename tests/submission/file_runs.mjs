// Runs the page's reading of a file in runs (submission/static/src/runs.js) and the seal pool's
// use of it under Node, for test_file_runs.py.
//   node file_runs.mjs runs PATH MODE LENGTH... > the bytes read, then a JSON line of facts
//     MODE "byob" reads File.stream(); "copying" a stream of uneven chunks that has no BYOB reader.
//   node file_runs.mjs pool PATH OUT WORKERS RECIPIENT  -> writes OUT, prints a JSON line of facts
// Each "worker" of the pool is the real sealworker.js behind a message pair that delivers later,
// in order, and clones each message with its transfer list, as postMessage does.
import { openAsBlob } from "node:fs"
import { writeFile } from "node:fs/promises"
import { piecesOf } from "../../submission/static/src/pieces.js"
import { SealPool } from "../../submission/static/src/pool.js"
import { runsOf } from "../../submission/static/src/runs.js"
import { sealFileInPool } from "../../submission/static/src/seal.js"
import { PIECE_BYTES } from "../../submission/static/src/upload.js"
import { inProcessWorker } from "./node_driver.mjs"

const UNEVEN = [7, 65536 + 3, 1, 300000, 65536]

// `blob` behind a stream of uneven chunks, not a byte stream.
function copyingFile(blob) {
  return {
    size: blob.size,
    stream() {
      let at = 0
      let turn = 0
      return new ReadableStream({
        async pull(controller) {
          if (at >= blob.size) return controller.close()
          const end = Math.min(blob.size, at + UNEVEN[turn++ % UNEVEN.length])
          controller.enqueue(new Uint8Array(await blob.slice(at, end).arrayBuffer()))
          at = end
        },
      })
    },
  }
}

async function runs([path, mode, ...lengths]) {
  const blob = await openAsBlob(path)
  const reader = runsOf(mode === "byob" ? new File([blob], "f") : copyingFile(blob))
  const facts = { lengths: [], buffers: [], error: null, byob: false }
  try {
    new File([blob], "f").stream().getReader({ mode: "byob" })
    facts.byob = mode === "byob"
  } catch {
    facts.byob = false
  }
  const parts = []
  try {
    for (const length of lengths.map(Number)) {
      const run = await reader.read(new ArrayBuffer(Math.max(length, 1 << 20)), length)
      facts.lengths.push(run.length)
      facts.buffers.push(run.buffer.byteLength)
      parts.push(Buffer.from(run))
    }
  } catch (error) {
    facts.error = String(error.message)
  }
  await reader.cancel()
  process.stdout.write(Buffer.concat(parts))
  process.stdout.write("\n" + JSON.stringify(facts))
}

async function pool([path, out, workers, recipient]) {
  const seal = new SealPool(Array.from({ length: Number(workers) }, () => inProcessWorker()))
  const given = seal.plaintextBuffer.bind(seal)
  const facts = { plaintextBuffers: 0, runs: 0 }
  seal.plaintextBuffer = () => {
    facts.runs += 1
    if (seal.plaintexts.length === 0) facts.plaintextBuffers += 1 // none given back: a new one
    return given()
  }
  const sealed = await sealFileInPool(seal, [recipient], new File([await openAsBlob(path)], "f"))
  const reader = piecesOf(sealed.stream, PIECE_BYTES, sealed.release)
  const pieces = []
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    pieces.push(Buffer.from(value))
    reader.reuse(value)
  }
  seal.close()
  await writeFile(out, Buffer.concat(pieces))
  process.stdout.write(JSON.stringify(facts))
}

const [command, ...rest] = process.argv.slice(2)
;(command === "runs" ? runs(rest) : pool(rest)).catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
