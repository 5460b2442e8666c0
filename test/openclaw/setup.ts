import { installOpenClaw } from './harness.js';

/** Installs Node 24 and the pinned openclaw before any test starts (once; later runs reuse the cache). */
export default function setup(): void {
  installOpenClaw();
}
