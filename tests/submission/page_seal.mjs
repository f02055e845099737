// Runs the page's own sealing code (submission/static/src/) under Node for test_page_sealing.py.
//   node page_seal.mjs OUT_DIR PIECE_BYTES RECIPIENT...   reads a JSON job on stdin:
//   {"message": str, "files": [{"name", "type", "path"}]}; writes message.age, N.meta.age and
//   N.content.age (the content through piecesOf, in pieces of PIECE_BYTES), and prints
//   {"metadata": [plaintext...], "sizes": [declared size of each content envelope], "pieces": [...]}.
import { openAsBlob } from "node:fs"
import { readFile, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { piecesOf } from "../../submission/static/src/pieces.js"
import { encrypterFor, fileMetadata, messageText, sealFile, sealSmall } from "../../submission/static/src/seal.js"
import { readStdin } from "./node_driver.mjs"

async function main([out, pieceBytes, ...recipients]) {
  const job = await readStdin()
  const encrypter = encrypterFor(recipients)
  const report = { metadata: [], sizes: [], pieces: [] }
  const text = messageText(job.message)
  if (text !== null) await writeFile(join(out, "message.age"), new Uint8Array(await (await sealSmall(encrypter, text)).arrayBuffer()))
  let item = 0
  for (const spec of job.files) {
    item += 1
    const blob = await openAsBlob(spec.path, { type: spec.type })
    const file = new File([blob], spec.name, { type: spec.type })
    const metadata = fileMetadata(file)
    report.metadata.push(metadata)
    await writeFile(join(out, `${item}.meta.age`), new Uint8Array(await (await sealSmall(encrypter, metadata)).arrayBuffer()))
    const sealed = await sealFile(encrypter, file)
    report.sizes.push(sealed.size)
    const reader = piecesOf(sealed.stream, Number(pieceBytes))
    const pieces = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      pieces.push(value)
    }
    report.pieces.push(pieces.map((p) => p.length))
    await writeFile(join(out, `${item}.content.age`), Buffer.concat(pieces))
  }
  process.stdout.write(JSON.stringify(report))
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`${error}\n`)
  process.exit(1)
})
