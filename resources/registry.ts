import { defineResource, json } from './define.js';

export const bots = defineResource({
  name: 'bots',
  toolset: 'registry',
  uri: 'roost://bots',
  title: 'Bots',
  description: 'Every bot in the registry.',
  mimeType: 'application/json',
  read: async (_v, { roost }) => json(roost.registry.list()),
});

export const registryResources = [bots];
