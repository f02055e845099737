// The seal workers: one per core (navigator.hardwareConcurrency, at most MAX_WORKERS), each
// sealing runs of a file's STREAM chunks while the page only hands out jobs and puts their
// ciphertext back in order. At most JOBS_AHEAD jobs per worker are sealed ahead of the upload,
// so the page's memory stays flat whatever the file's size; and their buffers go round (the
// reader of the payload hands each job's ciphertext back with recycle() once it has copied it,
// and the next job takes it to the worker) instead of becoming garbage (sealworker.js).
//
// A worker runs this very script: the page fetches it again with the integrity hash that its own
// script tag carries (a Worker cannot be given one), and starts the workers from that Blob
// (CSP `worker-src blob:`, docs/threat-model.md). Where anything of that fails, start() says
// null and the page seals on its own thread as before.
import { CHUNK_BYTES, TAG_BYTES, chunkCount } from "./chunks.js"

const MAX_WORKERS = 4
const JOB_CHUNKS = 16 // 1 MiB of plaintext per job
const JOBS_AHEAD = 2
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
    for (const worker of workers) {
      worker.onmessage = ({ data }) => this.settle(data)
      worker.onerror = (event) => this.close(new Error(event.message || "a seal worker failed"))
    }
  }

  get size() {
    return this.workers.length
  }

  run(job) {
    if (this.workers.length === 0) return Promise.reject(new Error("the seal workers are closed"))
    const id = (this.jobs += 1)
    const done = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }))
    const spare = this.spares.pop() || null
    this.workers[id % this.workers.length].postMessage({ id, ...job, spare }, spare === null ? [] : [spare])
    return done
  }

  // A job's ciphertext that its reader has copied and will not touch again: its buffer is
  // filled by a later job. Anything else (a header, a short final run) is left alone.
  recycle(chunk) {
    const buffer = chunk.buffer
    const whole = chunk.byteOffset === 0 && chunk.byteLength === buffer.byteLength
    if (whole && buffer.byteLength >= JOB_SEALED_BYTES && this.spares.length < JOBS_AHEAD * this.size)
      this.spares.push(buffer)
  }

  settle({ id, sealed, error }) {
    const job = this.pending.get(id)
    if (job === undefined) return
    this.pending.delete(id)
    if (error === undefined) job.resolve(sealed)
    else job.reject(new Error(error))
  }

  // The STREAM payload of `file` under `key`, in order: a stream of sealed runs of chunks.
  payload(key, file) {
    const size = file.size
    const jobs = Math.ceil(chunkCount(size) / JOB_CHUNKS)
    const ahead = []
    let next = 0
    const fill = () => {
      while (next < jobs && ahead.length < JOBS_AHEAD * this.size) {
        const first = next * JOB_CHUNKS
        const start = first * CHUNK_BYTES
        const end = Math.min(size, start + JOB_CHUNKS * CHUNK_BYTES)
        const sealed = this.run({ key, file, start, end, first, last: next === jobs - 1 })
        sealed.catch(() => {}) // seen when its turn comes, or dropped with a cancelled stream
        ahead.push(sealed)
        next += 1
      }
    }
    return new ReadableStream(
      {
        async pull(controller) {
          fill()
          const sealed = await ahead.shift()
          fill()
          controller.enqueue(sealed)
          if (ahead.length === 0 && next === jobs) controller.close()
        },
        cancel() {
          next = jobs
          ahead.length = 0
        },
      },
      { highWaterMark: 0 },
    )
  }

  close(error = new Error("the seal workers are closed")) {
    for (const worker of this.workers) worker.terminate()
    this.workers = []
    this.spares = []
    for (const job of this.pending.values()) job.reject(error)
    this.pending.clear()
  }
}
