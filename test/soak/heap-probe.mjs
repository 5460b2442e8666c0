// Loaded into the soak's daemon with `node --expose-gc --import`: every ROOST_SOAK_PROBE_MS it runs
// a full garbage collection and appends the live heap to ROOST_SOAK_PROBE_FILE, one JSON line.
// The heap after a full collection is what a leak grows; resident memory also moves with how
// much free heap V8 chooses to keep, which depends on the machine's load.
import { appendFileSync } from 'node:fs';

const file = process.env.ROOST_SOAK_PROBE_FILE;
const every = Number(process.env.ROOST_SOAK_PROBE_MS ?? 2000);
if (file && typeof globalThis.gc === 'function') {
  setInterval(() => {
    globalThis.gc();
    const { heapUsed, external } = process.memoryUsage();
    appendFileSync(file, `${JSON.stringify({ at: Date.now(), heapMb: heapUsed / 2 ** 20, externalMb: external / 2 ** 20 })}\n`);
  }, every).unref();
}
