// What the Node test drivers share (page_seal.mjs, pool_seal.mjs, recycle_seal.mjs, file_runs.mjs):
// their job read as JSON from stdin, and a seal worker run in this process.
import { serveSealing } from "../../submission/static/src/sealworker.js"

export async function readStdin() {
  const parts = []
  for await (const part of process.stdin) parts.push(part)
  return JSON.parse(Buffer.concat(parts).toString("utf8"))
}

// The real sealworker.js behind a message pair that, like postMessage, delivers later and in
// order and clones each message with its transfer list, so a buffer sent away is detached on the
// sender's side: a buffer reused while something still reads it shows as wrong bytes.
// `posted(data)` sees each job the page posts (to count them).
export function inProcessWorker(posted = () => {}) {
  const worker = { onmessage: null, onerror: null, terminate() {} }
  const scope = {
    onmessage: null,
    postMessage: (data, transfer = []) => {
      const copy = structuredClone(data, { transfer })
      setImmediate(() => worker.onmessage({ data: copy }))
    },
  }
  worker.postMessage = (data, transfer = []) => {
    posted(data)
    const copy = structuredClone(data, { transfer })
    setImmediate(() => scope.onmessage({ data: copy }))
  }
  serveSealing(scope)
  return worker
}
