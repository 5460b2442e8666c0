/** Who may read a note: its owner only (and the main bot and the operator), or every bot. */
export type Visibility = 'private' | 'shared';
