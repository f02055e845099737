// Runs the page's seal-worker path (submission/static/src/pool.js, sealworker.js, chunks.js and
// seal.js's sealFileInPool) under Node for test_seal_pool.py. Node has no Web Worker, so each
// "worker" is the real sealworker.js served in-process through a message pair that, like
// postMessage, delivers later and in order.
//   node pool_seal.mjs OUT_DIR WORKERS RECIPIENT... < {"files": [path...]}
// writes N.content.age for each file and prints {"sizes": [declared size...], "jobs": [count...]}.
import { openAsBlob } from "node:fs"
import { writeFile } from "node:fs/promises"
import { join } from "node:path"
import { piecesOf } from "../../submission/static/src/pieces.js"
import { SealPool } from "../../submission/static/src/pool.js"
import { sealFileInPool } from "../../submission/static/src/seal.js"
import { PIECE_BYTES } from "../../submission/static/src/upload.js"
import { inProcessWorker, readStdin } from "./node_driver.mjs"

async function main([out, workers, ...recipients]) {
  const job = await readStdin()
  const report = { sizes: [], jobs: [] }
  let item = 0
  for (const path of job.files) {
    item += 1
    const counter = { jobs: 0 }
    const count = () => (counter.jobs += 1)
    const pool = new SealPool(Array.from({ length: Number(workers) }, () => inProcessWorker(count)))
    const file = new File([await openAsBlob(path)], "f")
    const sealed = await sealFileInPool(pool, recipients, file)
    const reader = piecesOf(sealed.stream, PIECE_BYTES)
    const pieces = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      pieces.push(value)
    }
    pool.close()
    report.sizes.push(sealed.size)
    report.jobs.push(counter.jobs)
    await writeFile(join(out, `${item}.content.age`), Buffer.concat(pieces))
  }
  process.stdout.write(JSON.stringify(report))
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error}\n`)
  process.exit(1)
})
