// The seal workers: one per core (navigator.hardwareConcurrency, at most MAX_WORKERS), each
// sealing runs of a file's STREAM chunks while the page reads the file in order and puts the
// ciphertext back in order. At most JOBS_AHEAD jobs per worker are sealed ahead of the upload,
// so the page's memory stays flat whatever the file's size; and their buffers go round instead
// of becoming garbage: the page reads each run of plaintext into a buffer a worker gave back
// (runs.js), the worker seals it into a ciphertext buffer that the payload's reader handed back
// with recycle() once it had copied it, and both return transferred, never copied.
//
// A worker runs this very script: the page fetches it again with the integrity hash that its own
// script tag carries (a Worker cannot be given one), and starts the workers from that Blob
// (CSP `worker-src blob:`, docs/threat-model.md). Where anything of that fails, start() says
// null and the page seals on its own thread as before.
import { CHUNK_BYTES, TAG_BYTES, chunkCount } from "./chunks.js"
import { runsOf } from "./runs.js"

const MAX_WORKERS = 4
const JOB_CHUNKS = 16 // 1 MiB of plaintext per job
const JOBS_AHEAD = 2
const JOB_BYTES = JOB_CHUNKS * CHUNK_BYTES
const JOB_SEALED_BYTES = JOB_CHUNKS * (CHUNK_BYTES + TAG_BYTES)
const START_MS = 20000 // a jitless worker parses the whole script first

function startWorker(url) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url)
    const fail = (error) => {
      clearTimeout(timer)
      worker.terminate()
      reject(error)
    }
    const timer = setTimeout(() => fail(new Error("a seal worker did not start")), START_MS)
    worker.onmessage = ({ data }) => {
      if (!data || !data.ready) return
      clearTimeout(timer)
      resolve(worker)
    }
    worker.onerror = (event) => fail(new Error(event.message || "a seal worker failed to start"))
  })
}

export class SealPool {
  // `script` is the page script's {src, integrity}; resolves to a pool, or null.
  static async start(script) {
    if (typeof Worker !== "function" || typeof fetch !== "function" || script === null) return null
    let url = null
    const started = []
    try {
      const response = await fetch(script.src, { integrity: script.integrity, credentials: "same-origin" })
      if (!response.ok) return null
      url = URL.createObjectURL(new Blob([await response.arrayBuffer()], { type: "text/javascript" }))
      const size = Math.min(Math.max(navigator.hardwareConcurrency || 1, 1), MAX_WORKERS)
      const results = await Promise.allSettled(Array.from({ length: size }, () => startWorker(url)))
      for (const result of results) if (result.status === "fulfilled") started.push(result.value)
      if (started.length < size) throw new Error("a seal worker did not start")
      return new SealPool(started)
    } catch (error) {
      for (const worker of started) worker.terminate()
      return null
    } finally {
      if (url !== null) URL.revokeObjectURL(url)
    }
  }

  constructor(workers) {
    this.workers = workers
    this.pending = new Map() // job id -> {resolve, reject}
    this.jobs = 0
    this.spares = [] // ciphertext buffers read and handed back, for the next jobs to fill
    this.plaintexts = [] // plaintext buffers the workers gave back, for the next runs read
    for (const worker of workers) {
      worker.onmessage = ({ data }) => this.settle(data)
      worker.onerror = (event) => this.close(new Error(event.message || "a seal worker failed"))
    }
  }

  get size() {
    return this.workers.length
  }

  // Seal `plaintext` (a Uint8Array over a whole buffer, which goes to the worker) as chunks
  // `first`, … under `key`; resolves to the sealed run.
  run({ key, plaintext, first, last }) {
    if (this.workers.length === 0) return Promise.reject(new Error("the seal workers are closed"))
    const id = (this.jobs += 1)
    const done = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }))
    const spare = this.spares.pop() || null
    const transfer = spare === null ? [plaintext.buffer] : [plaintext.buffer, spare]
    this.workers[id % this.workers.length].postMessage({ id, key, plaintext, first, last, spare }, transfer)
    return done
  }

  plaintextBuffer() {
    return this.plaintexts.pop() || new ArrayBuffer(JOB_BYTES)
  }

  // A job's ciphertext that its reader has copied and will not touch again: its buffer is
  // filled by a later job. Anything else (a header, a short final run) is left alone.
  recycle(chunk) {
    const buffer = chunk.buffer
    const whole = chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength
    if (whole && buffer.byteLength >= JOB_SEALED_BYTES && this.spares.length < JOBS_AHEAD * this.size)
      this.spares.push(buffer)
  }

  settle({ id, sealed, plaintext, error }) {
    if (plaintext && plaintext.buffer.byteLength === JOB_BYTES && this.plaintexts.length < JOBS_AHEAD * this.size)
      this.plaintexts.push(plaintext.buffer)
    const job = this.pending.get(id)
    if (job === undefined) return
    this.pending.delete(id)
    if (error === undefined) job.resolve(sealed)
    else job.reject(new Error(error))
  }

  // The STREAM payload of `file` under `key`, in order: a reader of sealed runs of chunks.
  payload(key, file) {
    const size = file.size
    const jobs = Math.ceil(chunkCount(size) / JOB_CHUNKS)
    const runs = runsOf(file)
    const ahead = []
    let next = 0
    const fill = () => {
      while (next < jobs && ahead.length < JOBS_AHEAD * this.size) {
        const first = next * JOB_CHUNKS
        const start = first * CHUNK_BYTES
        const end = Math.min(size, start + JOB_BYTES)
        const last = next === jobs - 1
        const read = runs.read(this.plaintextBuffer(), end - start)
        const sealed = read.then((plaintext) => this.run({ key, plaintext, first, last }))
        sealed.catch(() => {}) // seen when its turn comes, or dropped with a cancelled stream
        ahead.push(sealed)
        next += 1
      }
    }
    // A reader, not a ReadableStream: a stream's every read is a Blink request that only a full
    // garbage collection frees (runs.js).
    return {
      async read() {
        fill()
        if (ahead.length === 0 && next < jobs) throw new Error("the seal workers are closed")
        if (ahead.length === 0) return { done: true, value: undefined }
        const sealed = await ahead.shift()
        fill()
        return { done: false, value: sealed }
      },
      cancel() {
        next = jobs
        ahead.length = 0
        return runs.cancel()
      },
    }
  }

  close(error = new Error("the seal workers are closed")) {
    for (const worker of this.workers) worker.terminate()
    this.workers = []
    this.spares = []
    this.plaintexts = []
    for (const job of this.pending.values()) job.reject(error)
    this.pending.clear()
  }
}
