import SearchableMap from 'minisearch/SearchableMap';

/** A vocabulary term a query term matches. */
export interface Expansion {
  id: number;
  weight: number;
  match: 'exact' | 'prefix' | 'fuzzy';
}

/**
 * Every distinct term of every shard, once, in MiniSearch's radix tree: a query's prefix and fuzzy
 * expansions are found here once, not once per shard. A term is dropped when no shard has it.
 */
export class Vocabulary {
  /** Exact lookups, many times faster than the tree's. */
  private readonly ids = new Map<string, number>();
  private readonly tree = new SearchableMap<number>();
  private readonly terms: string[] = [];
  /** How many shards have postings for each term. */
  private readonly uses: number[] = [];
  private readonly free: number[] = [];

  id(term: string): number | undefined {
    return this.ids.get(term);
  }

  term(id: number): string {
    return this.terms[id];
  }

  /** A shard starts using `term`. */
  acquire(term: string): number {
    let id = this.ids.get(term);
    if (id === undefined) {
      id = this.free.pop() ?? this.terms.length;
      this.ids.set(term, id);
      this.tree.set(term, id);
      this.terms[id] = term;
      this.uses[id] = 0;
    }
    this.uses[id]++;
    return id;
  }

  /** A shard no longer has postings for term `id`. */
  release(id: number): void {
    if (--this.uses[id] > 0) return;
    this.ids.delete(this.terms[id]);
    this.tree.delete(this.terms[id]);
    this.terms[id] = '';
    this.free.push(id);
  }

  /** The terms a query term matches (by id), how, and with what weight, as MiniSearch gives them: exact 1, prefix and fuzzy less with distance. */
  expand(term: string, prefix: boolean, maxDistance: number, weights: { prefixWeight: number; fuzzyWeight: number }): Map<number, Expansion> {
    const found = new Map<number, Expansion>();
    const exact = this.ids.get(term);
    if (exact !== undefined) found.set(exact, { id: exact, weight: 1, match: 'exact' });
    if (prefix) {
      for (const [t, id] of this.tree.atPrefix(term)) {
        const distance = t.length - term.length;
        if (distance) found.set(id, { id, weight: (weights.prefixWeight * t.length) / (t.length + 0.3 * distance), match: 'prefix' });
      }
    }
    if (maxDistance) {
      for (const [t, [id, distance]] of this.tree.fuzzyGet(term, maxDistance)) {
        if (distance && !found.has(id)) found.set(id, { id, weight: (weights.fuzzyWeight * t.length) / (t.length + distance), match: 'fuzzy' });
      }
    }
    return found;
  }
}

