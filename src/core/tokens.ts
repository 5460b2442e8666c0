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
  /** Each bot's token hash, with the identity of the file it was read from. */
  private readonly cache = new Map<string, { identity: string; digest: Buffer }>();

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

  /**
   * Makes a new token for `bot`, replacing any previous one. The file is replaced by a rename, so
   * it is a new file (a new inode) each time, and a daemon checking it sees the change at once.
   */
  async issue(bot: string): Promise<string> {
    checkId(bot);
    const token = `roost_${bot}_${randomBytes(24).toString('hex')}`;
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, bot);
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.writeFile(temp, hash(token).toString('hex'), { mode: 0o600 });
      await fs.rename(temp, file);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    return token;
  }

  async has(bot: string): Promise<boolean> {
    return (await this.storedHash(bot)) !== null;
  }

  async revoke(bot: string): Promise<void> {
    checkId(bot);
    await fs.rm(path.join(this.dir, bot), { force: true });
  }

  async verify(token: string): Promise<Identity | null> {
    const digest = hash(token);
    if (this.operatorHash && timingSafeEqual(digest, this.operatorHash)) return { operator: true };
    const match = /^roost_([a-z0-9][a-z0-9_-]{0,63})_[0-9a-f]{48}$/.exec(token);
    if (!match) return null;
    const stored = await this.storedHash(match[1]);
    return stored?.length === digest.length && timingSafeEqual(digest, stored) ? { operator: false, bot: match[1] } : null;
  }

  /**
   * The bot's token hash as its file holds it now, checked on every request: `roost token` may
   * rotate it and `retire_bot` remove it while the daemon runs, and either takes effect on the
   * next request. One stat a call; the file is read again only when it is another file or changed.
   */
  private async storedHash(bot: string): Promise<Buffer | null> {
    checkId(bot);
    const file = path.join(this.dir, bot);
    try {
      const stat = await fs.stat(file, { bigint: true });
      const identity = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
      const cached = this.cache.get(bot);
      if (cached?.identity === identity) return cached.digest;
      const digest = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'hex');
      this.cache.set(bot, { identity, digest });
      return digest;
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.cache.delete(bot);
      return null;
    }
  }
}

function hash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
