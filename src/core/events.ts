import { EventEmitter } from 'node:events';

/** Something that happened, for live views (the console's feed, MCP notifications, waiters). */
export interface Activity {
  /** What happened, as `<thing>.<verb>`: `note.write`, `note.delete`, `note.move`, `bot.register`… */
  kind: string;
  /** The bot it happened to (whose memory, inbox or profile). */
  bot: string;
  /** Who did it: a bot id, `operator` or `external` (a person editing files). */
  by: string;
  at: string;
  path?: string;
  detail?: Record<string, unknown>;
}

/** The engine's event bus. Listeners must not throw; a slow listener slows nobody (emit is sync, work is theirs). */
export class RoostEvents extends EventEmitter<{ activity: [Activity] }> {
  constructor() {
    super();
    // Every live MCP session and console stream listens: many listeners are normal here.
    this.setMaxListeners(0);
  }

  emitActivity(activity: Omit<Activity, 'at'>): void {
    this.emit('activity', { ...activity, at: new Date().toISOString() });
  }
}
