import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { checkId } from './paths.js';
import { isMissing } from './vault.js';

export type Identity = { operator: true } | { operator: false; bot: string };

/**
 * Bearer tokens. A bot token reads `roost_<bot>_<48 hex digits>`; only its SHA-256 is stored,
 * under `.roost/tokens/<bot>`. The operator token lives in `.roost/operator.token` (mode 0600)
 * unless `ROOST_OPERATOR_TOKEN` sets it.
 */
export class Tokens {
  private readonly dir: string;
  private operatorHash: Buffer | null = null;
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly stateDir: string) {
    this.dir = path.join(stateDir, 'tokens');
  }

  get operatorTokenFile(): string {
    return path.join(this.stateDir, 'operator.token');
  }

  /** Sets the operator token from `fixed`, or from its file, or makes one. Returns it when newly made. */
  async initOperator(fixed?: string): Promise<string | null> {
    if (fixed) {
      this.operatorHash = hash(fixed);
      return null;
    }
    try {
      this.operatorHash = hash((await fs.readFile(this.operatorTokenFile, 'utf8')).trim());
      return null;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    const token = `roost_operator_${randomBytes(24).toString('base64url')}`;
    await fs.mkdir(this.stateDir, { recursive: true });
    await fs.writeFile(this.operatorTokenFile, `${token}\n`, { mode: 0o600 });
    this.operatorHash = hash(token);
    return token;
  }

  /** Makes a new token for `bot`, replacing any previous one. */
  async issue(bot: string): Promise<string> {
    checkId(bot);
    const token = `roost_${bot}_${randomBytes(24).toString('hex')}`;
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const digest = hash(token);
    await fs.writeFile(path.join(this.dir, bot), digest.toString('hex'), { mode: 0o600 });
    this.cache.set(bot, digest);
    return token;
  }

  async has(bot: string): Promise<boolean> {
    return (await this.storedHash(bot, false)) !== null;
  }

  async revoke(bot: string): Promise<void> {
    checkId(bot);
    this.cache.delete(bot);
    await fs.rm(path.join(this.dir, bot), { force: true });
  }

  async verify(token: string): Promise<Identity | null> {
    const digest = hash(token);
    if (this.operatorHash && timingSafeEqual(digest, this.operatorHash)) return { operator: true };
    const match = /^roost_([a-z0-9][a-z0-9_-]{0,63})_[0-9a-f]{48}$/.exec(token);
    if (!match) return null;
    const bot = match[1];
    // Re-read on a miss: `roost token` may have rotated the token while the daemon runs.
    for (const fresh of [false, true]) {
      const stored = await this.storedHash(bot, fresh);
      if (stored && timingSafeEqual(digest, stored)) return { operator: false, bot };
    }
    return null;
  }

  private async storedHash(bot: string, fresh: boolean): Promise<Buffer | null> {
    if (!fresh && this.cache.has(bot)) return this.cache.get(bot)!;
    checkId(bot);
    try {
      const digest = Buffer.from((await fs.readFile(path.join(this.dir, bot), 'utf8')).trim(), 'hex');
      this.cache.set(bot, digest);
      return digest;
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
