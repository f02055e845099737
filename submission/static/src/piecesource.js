// tus-js-client's source of an upload's bytes (its `fileReader` option), over a piecesOf reader.
// tus-js-client's own source for a stream copies each piece twice (its sub-array of the piece
// to send, and what is left of its buffer) and joins the next piece to the last by a copy: three
// copies of every 4 MiB for the garbage collector. This one hands out the piece itself, keeps it
// for a PATCH sent again, joins two pieces only when the server kept part of a PATCH, and gives
// back to the reader each piece the server has acknowledged, to be filled again.
export class PieceSource {
  constructor(reader) {
    this.reader = reader
    this.window = new Uint8Array(0) // bytes from `offset` not yet acknowledged, as read
    this.offset = 0
    this.done = false
  }

  // `start` is the offset the server acknowledged: tus-js-client never asks for bytes before it.
  async slice(start, end) {
    if (start < this.offset || start > this.offset + this.window.length)
      throw new Error("Requested data is outside the reader's window")
    this.window = this.window.subarray(start - this.offset)
    this.offset = start
    while (this.offset + this.window.length < end && !this.done) {
      const held = this.window.length === 0 ? null : this.window
      if (held === null) this.giveBack()
      const { done, value } = await this.reader.read()
      if (done) this.done = true
      else if (held === null) this.window = this.piece = value
      else {
        const joined = new Uint8Array(held.length + value.length)
        joined.set(held)
        joined.set(value, held.length)
        this.giveBack()
        this.piece = value
        this.giveBack()
        this.window = joined
      }
    }
    if (this.window.length === 0 && this.done) return { value: null, done: true }
    return { value: this.window.subarray(0, end - start), done: false }
  }

  giveBack() {
    if (this.piece && this.reader.reuse) this.reader.reuse(this.piece)
    this.piece = null
  }

  close() {
    this.piece = null
    this.reader.cancel()
  }
}
