// Runs the page's seal-worker path with its buffers going round, under Node, for
// test_seal_recycling.py: the pool's ciphertext buffers (pool.js recycle), the worker's plaintext
// buffers (sealworker.js) and the upload pieces (pieces.js reuse, piecesource.js). Each "worker"
// is node_driver.mjs's, which detaches a buffer sent away as postMessage does: a buffer reused
// while something still reads it shows as wrong bytes.
// The upload is tus-js-client's use of a source: PATCHes of PIECE_BYTES from the server's offset,
// where the server keeps only a third of every third PATCH (a cut connection).
//   node recycle_seal.mjs OUT_DIR WORKERS RECIPIENT... < {"files": [path...]}
// writes N.content.age for each file and prints {"sizes", "jobs", "spared", "pieces", "reused", "cut"}.
import { openAsBlob } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { piecesOf } from "../../submission/static/src/pieces.js"
import { PieceSource } from "../../submission/static/src/piecesource.js"
import { SealPool } from "../../submission/static/src/pool.js"
import { sealFileInPool } from "../../submission/static/src/seal.js"
import { PIECE_BYTES } from "../../submission/static/src/upload.js"
import { inProcessWorker, readStdin } from "./node_driver.mjs"

// Counts the jobs the page posts, and those that carry a spare ciphertext buffer.
function countedJobs(counter) {
  return (data) => {
    counter.jobs += 1
    if (data.spare) counter.spared += 1
  }
}

// A reader of pieces that counts the pieces it hands out and those it fills again.
function counted(reader, counter) {
  const given = new Set()
  return {
    async read() {
      const next = await reader.read()
      if (!next.done) {
        counter.pieces += 1
        if (given.has(next.value.buffer)) counter.reused += 1
        given.add(next.value.buffer)
      }
      return next
    },
    reuse: (piece) => reader.reuse(piece),
    cancel: () => reader.cancel(),
  }
}

// tus-js-client's loop over a source, against a server that keeps a third of every third PATCH.
async function upload(source, size, counter) {
  const kept = new Uint8Array(size)
  let offset = 0
  for (let patch = 1; offset < size; patch++) {
    const { value } = await source.slice(offset, Math.min(size, offset + PIECE_BYTES))
    const keep = patch % 3 === 0 && value.length > 1 ? Math.floor(value.length / 3) : value.length
    if (keep < value.length) counter.cut += 1
    kept.set(value.subarray(0, keep), offset)
    offset += keep
  }
  source.close()
  return kept
}

async function main([out, workers, ...recipients]) {
  const job = await readStdin()
  const report = { sizes: [], jobs: [], spared: [], pieces: [], reused: [], cut: [] }
  let item = 0
  for (const path of job.files) {
    item += 1
    const counter = { jobs: 0, spared: 0, pieces: 0, reused: 0, cut: 0 }
    const count = countedJobs(counter)
    const pool = new SealPool(Array.from({ length: Number(workers) }, () => inProcessWorker(count)))
    const file = new File([await openAsBlob(path)], "f")
    const sealed = await sealFileInPool(pool, recipients, file)
    const reader = counted(piecesOf(sealed.stream, PIECE_BYTES, sealed.release), counter)
    const envelope = await upload(new PieceSource(reader), sealed.size, counter)
    pool.close()
    report.sizes.push(sealed.size)
    for (const name of ["jobs", "spared", "pieces", "reused", "cut"]) report[name].push(counter[name])
    await writeFile(join(out, `${item}.content.age`), envelope)
  }
  process.stdout.write(JSON.stringify(report))
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error.stack || error}\n`)
  process.exit(1)
})
