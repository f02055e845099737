// What the source sees while envelopes upload: per-file and total bytes, rate and time left,
// in the page's language (the sentences come translated in the template's data-* attributes;
// numbers and units are formatted by Intl).
const RATE_WINDOW_MS = 20000

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => values[name])
}

export class Progress {
  constructor(panel) {
    this.panel = panel
    this.texts = panel.dataset
    const lang = document.documentElement.lang || "en"
    this.megabytes = new Intl.NumberFormat(lang, { style: "unit", unit: "megabyte", maximumFractionDigits: 1 })
    this.kilobytes = new Intl.NumberFormat(lang, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 })
    this.rateFormat = new Intl.NumberFormat(lang, { style: "unit", unit: "megabyte-per-second", maximumFractionDigits: 2 })
    this.minutes = new Intl.NumberFormat(lang, { style: "unit", unit: "minute", unitDisplay: "long", maximumFractionDigits: 0 })
    this.seconds = new Intl.NumberFormat(lang, { style: "unit", unit: "second", unitDisplay: "long", maximumFractionDigits: 0 })
    this.list = panel.querySelector(".upload-items")
    this.totalText = panel.querySelector(".upload-total")
    this.totalBar = panel.querySelector(".upload-total-bar")
    this.state = panel.querySelector(".upload-state")
    this.rows = []
    this.samples = []
  }

  // One row per item: the message, then each file (its metadata and content counted together).
  start(items) {
    this.list.replaceChildren()
    this.rows = items.map(({ label, size }) => {
      const row = document.createElement("li")
      const name = document.createElement("span")
      name.className = "upload-name"
      name.textContent = label
      const bar = document.createElement("progress")
      bar.max = size
      bar.value = 0
      const text = document.createElement("span")
      text.className = "upload-bytes"
      row.append(name, bar, text)
      this.list.append(row)
      return { size, sent: 0, bar, text }
    })
    this.total = items.reduce((sum, item) => sum + item.size, 0)
    this.totalBar.max = this.total
    this.samples = [[performance.now(), 0]]
    this.panel.hidden = false
    this.say("")
    this.render()
  }

  // `sent` bytes of row `index` are on the server (a resumed upload may go back a little).
  update(index, sent) {
    const row = this.rows[index]
    row.sent = Math.min(sent, row.size)
    const now = performance.now()
    this.samples.push([now, this.sent()])
    while (this.samples.length > 2 && now - this.samples[1][0] > RATE_WINDOW_MS) this.samples.shift()
    this.render()
  }

  sent() {
    return this.rows.reduce((sum, row) => sum + row.sent, 0)
  }

  rate() {
    const [first, last] = [this.samples[0], this.samples[this.samples.length - 1]]
    const seconds = (last[0] - first[0]) / 1000
    return seconds > 1 && last[1] > first[1] ? (last[1] - first[1]) / seconds : null
  }

  bytes(count) {
    return count < 1e5 ? this.kilobytes.format(Math.ceil(count / 1e3)) : this.megabytes.format(count / 1e6)
  }

  timeLeft(seconds) {
    return seconds >= 90 ? this.minutes.format(Math.round(seconds / 60)) : this.seconds.format(Math.ceil(seconds))
  }

  render() {
    for (const row of this.rows) {
      row.bar.value = row.sent
      row.text.textContent = fill(this.texts.itemProgress, { sent: this.bytes(row.sent), total: this.bytes(row.size) })
    }
    const sent = this.sent()
    this.totalBar.value = sent
    const rate = this.rate()
    const values = { sent: this.bytes(sent), total: this.bytes(this.total) }
    if (rate === null) {
      this.totalText.textContent = fill(this.texts.itemProgress, values)
    } else {
      values.rate = this.rateFormat.format(rate / 1e6)
      values.left = this.timeLeft((this.total - sent) / rate)
      this.totalText.textContent = fill(this.texts.totalProgress, values)
    }
  }

  // A line of state: "connection lost, retrying…", a failure, or "" to clear it.
  say(text) {
    this.state.textContent = text
  }

  hide() {
    this.panel.hidden = true
  }
}
