/**
 * A posting is one number: note << 10 | field << 8 | term frequency (capped at 255, where BM25 has
 * long saturated): 4 bytes in an Int32Array, where a Map entry per posting (MiniSearch's own index)
 * costs about twenty times more.
 */
const MAX_TF = 255;
export const posting = (note: number, field: number, tf: number) => note * 1024 + field * 256 + Math.min(tf, MAX_TF);
export const noteOf = (p: number) => p >>> 10;
export const fieldOf = (p: number) => (p >>> 8) & 3;
export const tfOf = (p: number) => p & 255;

/**
 * Many lists of integers in one Int32Array: list i is `data[starts[i]]` to `data[starts[i] + lengths[i] - 1]`.
 * One buffer instead of an array per list spares the header of each of hundreds of thousands of
 * small lists. A list that outgrows its room moves to the end of the buffer with twice the room;
 * when the buffer is full, the lists are packed into a new one, without the space they moved out of.
 */
export class Lists {
  data: Int32Array;
  starts: Int32Array;
  lengths: Int32Array;
  private capacities: Int32Array;
  /** Where the unused end of `data` begins. */
  private end: number;

  /** @param lengths of the lists `data` holds one after the other (none by default) */
  constructor(data: Int32Array = new Int32Array(0), lengths: Int32Array = new Int32Array(0)) {
    this.data = data;
    this.lengths = lengths;
    this.capacities = lengths.slice();
    this.starts = new Int32Array(lengths.length);
    let at = 0;
    for (let i = 0; i < lengths.length; i++) {
      this.starts[i] = at;
      at += lengths[i];
    }
    this.end = at;
  }

  /** A view of the list, valid until the lists next change. */
  values(list: number): Int32Array {
    return this.data.subarray(this.starts[list], this.starts[list] + this.lengths[list]);
  }

  push(list: number, value: number): void {
    const length = this.lengths[list] ?? 0;
    this.reserve(list, length + 1, Math.max(4, 2 * length));
    this.data[this.starts[list] + this.lengths[list]++] = value;
  }

  /** Replaces the list's values. */
  set(list: number, values: ArrayLike<number>): void {
    if (list < this.lengths.length) this.lengths[list] = 0;
    this.reserve(list, values.length, values.length);
    this.data.set(values, this.starts[list]);
    this.lengths[list] = values.length;
  }

  /** Keeps the values `keep` says yes to, in order; returns how many are left. */
  filter(list: number, keep: (value: number) => boolean): number {
    const values = this.values(list);
    let kept = 0;
    for (const value of values) if (keep(value)) values[kept++] = value;
    this.lengths[list] = kept;
    return kept;
  }

  /** Makes room for `needed` values in the list, moving it to the end with room for `capacity` when it has too little. */
  private reserve(list: number, needed: number, capacity: number): void {
    if (list >= this.starts.length) {
      const count = Math.max(list + 1, 2 * this.starts.length);
      this.starts = grown(this.starts, count);
      this.lengths = grown(this.lengths, count);
      this.capacities = grown(this.capacities, count);
    }
    if (needed <= this.capacities[list]) return;
    if (this.end + capacity > this.data.length) this.pack(capacity);
    const start = this.starts[list];
    this.data.copyWithin(this.end, start, start + this.lengths[list]);
    this.starts[list] = this.end;
    this.capacities[list] = capacity;
    this.end += capacity;
  }

  /**
   * Copies the lists into a new buffer with room for `extra` more values and a quarter more. Each
   * keeps its room up to twice its length: without room, every list that grows would move again.
   */
  private pack(extra: number): void {
    let used = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      this.capacities[i] = Math.min(this.capacities[i], 2 * this.lengths[i]);
      used += this.capacities[i];
    }
    const data = new Int32Array(Math.ceil((used + extra) * 1.25));
    let at = 0;
    for (let i = 0; i < this.lengths.length; i++) {
      data.set(this.values(i), at);
      this.starts[i] = at;
      at += this.capacities[i];
    }
    this.data = data;
    this.end = at;
  }
}

/** `array` when it has `length` elements, else a copy with that many (or twice as many when that is more), zeros after. */
export function grown<T extends Int32Array | Float64Array>(array: T, length: number): T {
  if (length <= array.length) return array;
  const copy = new (array.constructor as new (length: number) => T)(Math.max(length, 2 * array.length));
  copy.set(array);
  return copy;
}

/**
 * A shard's terms, numbered densely (slots), and the slot of each vocabulary id, found by open
 * addressing in an Int32Array: a Map costs three times more, with an entry per term and shard.
 */
export class TermSlots {
  /** By slot: the vocabulary id; -1 for a free slot. */
  private ids = new Int32Array(0);
  private slots = 0;
  private readonly free: number[] = [];
  /** Per bucket: slot + 1; 0 when empty, -1 when its entry was removed (lookups go on past it). */
  private buckets = new Int32Array(16);
  /** 32 - log2(buckets.length). */
  private shift = 28;
  /** Buckets not empty. */
  private taken = 0;
  private size = 0;

  get(termId: number): number | undefined {
    const mask = this.buckets.length - 1;
    for (let b = this.home(termId); ; b = (b + 1) & mask) {
      const entry = this.buckets[b];
      if (entry === 0) return undefined;
      if (entry > 0 && this.ids[entry - 1] === termId) return entry - 1;
    }
  }

  termId(slot: number): number {
    return this.ids[slot];
  }

  /** Gives a term the shard does not have yet a slot. */
  add(termId: number): number {
    if ((this.taken + 1) * 4 > this.buckets.length * 3) this.rehash();
    const slot = this.free.pop() ?? this.slots++;
    this.ids = grown(this.ids, slot + 1);
    this.ids[slot] = termId;
    this.place(slot);
    this.size++;
    return slot;
  }

  remove(slot: number): void {
    const mask = this.buckets.length - 1;
    let b = this.home(this.ids[slot]);
    while (this.buckets[b] !== slot + 1) b = (b + 1) & mask;
    this.buckets[b] = -1;
    this.ids[slot] = -1;
    this.free.push(slot);
    this.size--;
  }

  /** [vocabulary id, slot] of every term. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let slot = 0; slot < this.slots; slot++) if (this.ids[slot] !== -1) yield [this.ids[slot], slot];
  }

  /** Fibonacci hashing: the top bits of id × 2^32/φ, as many as the buckets need. */
  private home(termId: number): number {
    return Math.imul(termId, 0x9e3779b9) >>> this.shift;
  }

  private place(slot: number): void {
    const mask = this.buckets.length - 1;
    let b = this.home(this.ids[slot]);
    while (this.buckets[b] > 0) b = (b + 1) & mask;
    if (this.buckets[b] === 0) this.taken++;
    this.buckets[b] = slot + 1;
  }

  /** New buckets, at most half full, without the removed entries. */
  private rehash(): void {
    let count = 16;
    this.shift = 28;
    while (count < 2 * (this.size + 1)) {
      count *= 2;
      this.shift--;
    }
    this.buckets = new Int32Array(count);
    this.taken = 0;
    for (let slot = 0; slot < this.slots; slot++) if (this.ids[slot] !== -1) this.place(slot);
  }
}


/** Each note's term slots, read off the postings in two passes (count, then fill) to allocate once. */
export function noteTermsOf(postings: Lists, notes: number): Lists {
  const lengths = new Int32Array(notes);
  /** Per note: the last slot counted, as a note has one posting per field it has the term in. */
  const last = new Int32Array(notes).fill(-1);
  const { data, starts, lengths: counts } = postings;
  const each = (visit: (id: number, slot: number) => void) => {
    for (let slot = 0; slot < counts.length; slot++) {
      for (let i = starts[slot]; i < starts[slot] + counts[slot]; i++) {
        const id = noteOf(data[i]);
        if (last[id] !== slot) visit(id, (last[id] = slot));
      }
    }
  };
  each((id) => lengths[id]++);
  const lists = new Lists(new Int32Array(lengths.reduce((sum, l) => sum + l, 0)), lengths);
  const filled = new Int32Array(notes);
  last.fill(-1);
  each((id, slot) => (lists.data[lists.starts[id] + filled[id]++] = slot));
  return lists;
}

