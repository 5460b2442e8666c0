/** What Roost's HTTP server and its clients (the stdio bridge, the OpenClaw plugin) agree on. */

/** Header with which the operator token picks the bot it acts as. */
export const BOT_HEADER = 'x-roost-bot';
/** Header with which a bot token says which OpenClaw session calls (Roost's OpenClaw plugin sends it). */
export const SESSION_HEADER = 'x-roost-session';
