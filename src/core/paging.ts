/**
 * Paging, the one way every list does it. Two public forms: a cursor (the key of the last item a page
 * gave, for lists that grow while they are read: mail) and an offset (for ranked or sorted results).
 */

/** At most `limit` items, and when more follow, the cursor of the next page: the key of the last one. */
export function cursorPage<T>(items: Iterable<T>, limit: number, keyOf: (item: T) => string): { items: T[]; next_cursor?: string } {
  const page: T[] = [];
  for (const item of items) {
    if (page.length === limit) return { items: page, next_cursor: keyOf(page[page.length - 1]) };
    page.push(item);
  }
  return { items: page };
}

/** The items of a list from `offset`, at most `limit`. */
export function offsetPage<T>(items: T[], offset: number, limit: number): T[] {
  return items.slice(offset, offset + limit);
}

/** The offset of the next page, when one follows. */
export function nextOffset(offset: number, limit: number, total: number): { next_offset?: number } {
  return offset + limit < total ? { next_offset: offset + limit } : {};
}

/** Only the items `keep` accepts, read lazily. */
export function* kept<T>(items: Iterable<T>, keep: (item: T) => boolean): Generator<T> {
  for (const item of items) if (keep(item)) yield item;
}
