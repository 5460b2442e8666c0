import { defineResource, json } from './define.js';

export const INBOX_URI = 'roost://inbox';
const RECENT = 20;

export const inbox = defineResource({
  name: 'inbox',
  toolset: 'messaging',
  uri: INBOX_URI,
  title: 'Your inbox',
  description: 'Your unread count and newest unread messages (subject, sender, time; no bodies). Reading it marks nothing.',
  mimeType: 'application/json',
  read: async (_v, { roost, caller }) => json(roost.mail.summary(caller, caller.bot, RECENT)),
  subscription: {
    offered: INBOX_URI,
    accepts: (uri) => uri === INBOX_URI,
    changedBy: ({ kind, bot }, caller) => (kind.startsWith('message.') && kind !== 'message.send' && bot === caller.bot ? [INBOX_URI] : []),
  },
});

export const messagingResources = [inbox];
