// The submit form, enhanced: when this browser can do the whole job, every envelope is sealed
// here to the station recipients and only ciphertext is uploaded (tus, resumable), then one
// ordinary form POST commits the uploads and the server answers with the usual confirmation.
// When it cannot (no streams, no crypto, an old browser, or this script failing to load), the
// plain form posts as it does with JavaScript off.
//
// The same script runs in the seal workers (pool.js), where it only serves sealing jobs.
import { Upload } from "tus-js-client"
import { SealPool } from "./pool.js"
import { Progress } from "./progress.js"
import { encrypterFor, fileMetadata, messageText, sealFile, sealFileInPool, sealSmall } from "./seal.js"
import { serveSealing } from "./sealworker.js"
import { uploadEnvelope } from "./upload.js"

const COMMIT_PATH = "/submit/sealed"

function capable(form) {
  return (
    typeof ReadableStream === "function" &&
    typeof TransformStream === "function" &&
    typeof Blob === "function" &&
    typeof Blob.prototype.stream === "function" &&
    typeof XMLHttpRequest === "function" &&
    typeof Intl === "object" &&
    typeof window.crypto === "object" &&
    typeof crypto.getRandomValues === "function" &&
    typeof crypto.subtle === "object" && // typage asks WebCrypto for X25519 first
    Boolean(form.dataset.recipients) &&
    Boolean(form.dataset.uploads)
  )
}

// The sealed envelopes of one submission, in upload order; `row` is the progress row. File
// contents are sealed by the seal workers when there are any, else on this thread.
async function sealAll(form, recipients, pool, panel) {
  const encrypter = encrypterFor(recipients)
  const envelopes = []
  const rows = []
  const text = messageText(form.elements.message.value)
  if (text !== null) {
    const body = await sealSmall(encrypter, text)
    rows.push({ label: panel.dataset.messageLabel, size: body.size })
    envelopes.push({ kind: "message", item: 0, body, size: body.size, row: rows.length - 1 })
  }
  let item = 0
  for (const file of form.elements.files.files) {
    item += 1
    const metadata = await sealSmall(encrypter, fileMetadata(file))
    const content = pool === null ? await sealFile(encrypter, file) : await sealFileInPool(pool, recipients, file)
    rows.push({ label: file.name, size: metadata.size + content.size })
    const row = rows.length - 1
    envelopes.push({ kind: "file-metadata", item, body: metadata, size: metadata.size, row })
    const { stream, size, release } = content
    envelopes.push({ kind: "file-content", item, body: stream, size, release, row, before: metadata.size })
  }
  return { envelopes, rows }
}

// The commit: a normal form POST naming every upload, so the server's answer (its redirect to
// the confirmation page, or its error page) is what the browser shows next.
function commit(form, ids) {
  const post = document.createElement("form")
  post.method = "post"
  post.action = COMMIT_PATH
  post.hidden = true
  const fields = [["csrf_token", form.elements.csrf_token.value], ...ids.map((id) => ["upload", id])]
  for (const [name, value] of fields) {
    const input = document.createElement("input")
    input.type = "hidden"
    input.name = name
    input.value = value
    post.append(input)
  }
  document.body.append(post)
  post.submit()
}

class Submission {
  constructor(form, panel, script) {
    this.form = form
    this.panel = panel
    this.script = script
    this.pool = null
    this.progress = new Progress(panel)
    this.current = null // the tus upload in flight
    this.done = [] // upload ids complete on the server
    this.cancelled = false
    this.endpoint = form.dataset.uploads
    this.token = form.elements.csrf_token.value
    this.warnOnLeave = (event) => {
      event.preventDefault()
      event.returnValue = ""
    }
  }

  async run() {
    this.lock(true)
    try {
      const recipients = this.form.dataset.recipients.trim().split(/\s+/)
      if (this.form.elements.files.files.length > 0) this.pool = await SealPool.start(this.script)
      if (this.cancelled) return this.closePool()
      const { envelopes, rows } = await sealAll(this.form, recipients, this.pool, this.panel)
      this.progress.start(rows)
      for (const envelope of envelopes) {
        if (this.cancelled) return
        const base = envelope.before || 0
        const id = await uploadEnvelope({
          endpoint: this.endpoint,
          csrfToken: this.token,
          kind: envelope.kind,
          item: envelope.item,
          body: envelope.body,
          size: envelope.size,
          release: envelope.release,
          events: {
            started: (upload) => (this.current = upload),
            progress: (sent) => {
              this.progress.say("")
              this.progress.update(envelope.row, base + sent)
            },
            retrying: () => this.progress.say(this.panel.dataset.retrying),
          },
        })
        this.current = null
        this.done.push(id)
      }
      if (this.cancelled) return
      this.closePool()
      this.progress.say(this.panel.dataset.committing)
      window.removeEventListener("beforeunload", this.warnOnLeave)
      commit(this.form, this.done)
    } catch (error) {
      this.closePool()
      if (this.cancelled) return
      this.forget()
      this.progress.say(this.panel.dataset.failed)
      this.lock(false)
    }
  }

  cancel() {
    this.cancelled = true
    if (this.current !== null) this.current.abort(true).catch(() => {})
    this.current = null
    this.closePool()
    this.forget()
    this.progress.hide()
    this.lock(false)
    this.form.querySelector(".upload-cancelled").hidden = false
  }

  closePool() {
    if (this.pool !== null) this.pool.close()
    this.pool = null
  }

  // Ask the server to delete what was uploaded (it would expire anyway).
  forget() {
    for (const id of this.done) {
      Upload.terminate(this.endpoint + "/" + id, { headers: { "X-CSRFToken": this.token } }).catch(() => {})
    }
    this.done = []
  }

  lock(busy) {
    for (const element of this.form.querySelectorAll("textarea, input, button[type=submit]")) element.disabled = busy
    this.panel.querySelector(".upload-cancel").hidden = !busy
    if (busy) window.addEventListener("beforeunload", this.warnOnLeave)
    else window.removeEventListener("beforeunload", this.warnOnLeave)
  }
}

// The page script's own address and integrity hash, for the seal workers: known only while
// it runs.
function thisScript() {
  const script = document.currentScript
  return script === null || !script.src ? null : { src: script.src, integrity: script.integrity }
}

function enhance(script) {
  const form = document.querySelector("form.submit-form")
  const panel = document.querySelector(".upload-panel")
  if (form === null || panel === null || !capable(form)) return
  let running = null
  form.addEventListener("submit", (event) => {
    const message = messageText(form.elements.message.value)
    if (message === null && form.elements.files.files.length === 0) return // the server says "nothing to send"
    event.preventDefault()
    if (running !== null) return
    form.querySelector(".upload-cancelled").hidden = true
    running = new Submission(form, panel, script)
    running.run().finally(() => {
      if (running !== null && running.done.length === 0) running = null
    })
  })
  panel.querySelector(".upload-cancel").addEventListener("click", () => {
    if (running === null) return
    running.cancel()
    running = null
  })
  form.querySelector(".upload-reload-note").hidden = false
}

if (typeof document === "undefined") serveSealing(self)
else enhance(thisScript())
