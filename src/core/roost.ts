import { parseNote, titleOf } from './notes.js';
import { type EmbeddingProvider, SemanticIndex } from './embeddings.js';
import { watch, type FSWatcher } from 'chokidar';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../package.js';
import { NoteCatalogue } from './catalogue.js';
import { type AgentRuntimes, noneOnly } from './agent-runtime.js';
import { inboxOnly, type SessionDelivery } from './delivery.js';
import { makeDurableDir, writeDurably } from './durable.js';
import { RoostEvents } from './events.js';
import { Facts } from './facts.js';
import { History } from './history.js';
import { Journal } from './journal.js';
import { DaemonLock } from './lock-file.js';
import { DEFAULT_MAIL_LIMITS, Mail, type MailLimits } from './mail.js';
import { DEFAULT_LIMITS, Memory, type MemoryLimits } from './memory.js';
import { Registry } from './registry.js';
import { changeAllowance } from './rate-limit.js';
import { DEFAULT_SPAWN_LIMITS, type SpawnLimits, Tasks } from './tasks/lifecycle.js';
import { TaskFiles } from './tasks/store.js';
import { SearchIndex } from './search/index.js';
import { Sessions } from './sessions.js';
import { Tokens } from './tokens.js';
import { Topics } from './topics.js';
import { type FileStat, Vault } from './vault.js';
import { TreeWatcher } from './watch.js';

export interface RoostOptions {
  /** The data root: one git repository of Markdown. */
  home: string;
  /** Folder of bot definitions (`*.md`). */
  botsDir: string;
  /** Operator token from the environment; otherwise read from or written to `.roost/operator.token`. */
  operatorToken?: string;
  limits?: Partial<MemoryLimits>;
  /** How long the commit queue gathers writes before committing them (ms). */
  commitWindowMs?: number;
  /** Watch the data root and bot definitions for changes made by hand (default true). */
  watch?: boolean;
  /** A git remote (URL or path) to push the data root to after commits: the backup. */
  backupRemote?: string;
  backupEveryMs?: number;
  mailLimits?: Partial<MailLimits>;
  /** Where task agents run (built at the edge, in src/runtimes/; default: only `none`); Roost closes them when it closes. */
  runtimes?: AgentRuntimes;
  /** Delivery of messages into recipients' live sessions (default: the OpenClaw gateway when configured, else none: messages wait in the inbox). */
  delivery?: SessionDelivery;
  spawnLimits?: Partial<SpawnLimits>;
  /** Computes note vectors for semantic and hybrid search; none by default (lexical search only). */
  embeddings?: EmbeddingProvider;
  /** How often, while watching, the data root is compared with git for hand edits the watcher missed (ms). */
  sweepEveryMs?: number;
}

/** Reacts to a file under `prefix` changed on disk by someone other than this process. */
export type ExternalChangeHandler = (file: string, stat: FileStat | null) => Promise<void>;

/**
 * How often changed index shards are saved. A shard is saved whole, which under steady writes cost
 * a tenth of the daemon's time at 5 s; after a crash, start reads again the notes changed since.
 */
const SNAPSHOT_EVERY_MS = 30_000;
/**
 * inotify drops events when its queue overflows (16,384 by default) and Node does not say so: a
 * sweep this often finds the hand edits missed (git compares the files' stats with its index).
 */
const SWEEP_EVERY_MS = 60_000;

/** The engine: everything a daemon serves, over one data root. Knows nothing of MCP or HTTP. */
export class Roost {
  readonly vault: Vault;
  readonly stateDir: string;
  readonly tokens: Tokens;
  readonly index: SearchIndex;
  readonly events = new RoostEvents();
  history!: History;
  registry!: Registry;
  memory!: Memory;
  facts!: Facts;
  journal!: Journal;
  topics!: Topics;
  mail!: Mail;
  readonly runtimes: AgentRuntimes;
  sessions!: Sessions;
  tasks!: Tasks;
  /** Set when `open` made a new operator token, written to `.roost/operator.token` (mode 0600). */
  newOperatorToken: string | null = null;

  private lock!: DaemonLock;
  private data?: TreeWatcher;
  private watchers: FSWatcher[] = [];
  private snapshotTimer?: NodeJS.Timeout;
  private sweepTimer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private indexing: Promise<void> = Promise.resolve();
  private readonly handlers: Array<{ prefix: string; handle: ExternalChangeHandler }> = [];
  /** Files with a watcher event waiting for the file's lock. */
  private readonly waitingEvents = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(readonly options: RoostOptions) {
    this.vault = new Vault(options.home);
    this.stateDir = path.join(options.home, '.roost');
    this.tokens = new Tokens(this.stateDir);
    this.index = new SearchIndex(new NoteCatalogue(), path.join(this.stateDir, 'index'));
    this.runtimes = options.runtimes ?? noneOnly;
  }

  static async open(options: RoostOptions): Promise<Roost> {
    const roost = new Roost(options);
    await roost.start();
    return roost;
  }

  private async start(): Promise<void> {
    const { home } = this.options;
    await makeDurableDir(this.stateDir);
    this.lock = await DaemonLock.acquire(path.join(this.stateDir, 'daemon.lock'));
    try {
      const readme = await writeDataReadme(home);
      await this.vault.removeStaleTemps();
      this.history = await History.open(home, {
        windowMs: this.options.commitWindowMs,
        remote: this.options.backupRemote,
        pushEveryMs: this.options.backupEveryMs,
        commitLeftovers: false,
        ownFiles: [{ path: 'README.md', content: readme }],
      });
      // Finishes the changes a crash interrupted, and commits those git lacks under their authors.
      await this.vault.open(path.join(this.stateDir, 'writes'), this.history);
      const limits = { ...DEFAULT_LIMITS, ...this.options.limits };
      // One allowance of changes per bot, whatever it changes: its memory, topics, the registry.
      const changes = changeAllowance(limits.writeBurst, limits.writesPerSecond);
      this.registry = new Registry(this.vault, this.history, this.options.botsDir, changes);
      await this.registry.load();
      this.memory = new Memory(this.vault, this.index, this.history, this.registry, this.events, changes, limits);
      this.memory.folderBots = await listFolders(this.vault.abs('bots'));
      if (this.options.embeddings) {
        // A note is embedded as its title and body: a change of its frontmatter alone (its update time) embeds nothing again.
        this.memory.semantic = new SemanticIndex(this.options.embeddings, path.join(this.stateDir, 'vectors'), this.index.catalogue, async (bot, note) => {
          const text = await this.vault.read(`bots/${bot}/${note}`);
          if (text === null) return null;
          const { frontmatter, body } = parseNote(text);
          return `${titleOf(frontmatter, body, note)}\n\n${body}`;
        });
      }
      this.facts = new Facts(this.memory);
      this.journal = new Journal(this.memory);
      // Serve at once: shards load in the background, and a call that needs one first loads it.
      this.indexing = this.memory.indexAll().catch(logError);
      this.topics = new Topics(this.vault, this.history, this.registry, this.events, changes);
      await this.topics.load();
      this.sessions = new Sessions(this.registry);
      const mailLimits = { ...DEFAULT_MAIL_LIMITS, ...this.options.mailLimits };
      const delivery = this.options.delivery ?? this.runtimes.openclaw ?? inboxOnly;
      this.mail = new Mail(this.vault, this.stateDir, this.registry, this.topics, this.events, this.sessions, delivery, mailLimits);
      await this.mail.open();
      this.tasks = new Tasks(new TaskFiles(this.vault, this.history), this.registry, this.tokens, this.memory, this.runtimes, this.sessions, this.mail, this.events, {
        ...DEFAULT_SPAWN_LIMITS,
        ...this.options.spawnLimits,
      });
      await this.tasks.load();
      this.newOperatorToken = await this.tokens.initOperator(this.options.operatorToken);
      this.onExternalChange('bots/', (file, stat) => this.memory.fileChanged(file, stat));
      this.onExternalChange('registry/', () => this.registry.load());
      this.onExternalChange('mail/', (file, stat) => this.mail.fileChanged(file, stat));
      this.onExternalChange('topics/', (file) => this.topics.fileChanged(file));
      this.runtimes.openclaw?.keepSessions(() =>
        this.registry.list({ status: 'active' }).flatMap((bot) => (bot.openclaw ? [{ bot: bot.id, binding: bot.openclaw }] : [])),
      );
      if (this.options.watch !== false) await this.watch();
      // Once watched: what changed by hand before is committed now, what changes after is seen by the watcher.
      await this.history.commitLeftovers().catch((error: Error) => {
        // A commit git cannot write now (a full disk) must not keep the daemon from starting: the sweep commits these files later.
        console.error(`roost: committing what changed while no daemon ran failed (${error.message}); it stays in the work tree and is committed once git can write`);
      });
      this.snapshotTimer = setInterval(() => void this.index.saveSnapshots().catch(logError), SNAPSHOT_EVERY_MS);
      this.snapshotTimer.unref();
    } catch (error) {
      await this.vault.close().catch(() => undefined);
      await this.lock.release();
      throw error;
    }
  }

  /** Records where the daemon listens, for `roost mcp` and the CLI to find it. */
  async advertise(url: string): Promise<void> {
    await this.lock.update({ url });
  }

  onExternalChange(prefix: string, handle: ExternalChangeHandler): void {
    this.handlers.push({ prefix, handle });
  }

  /** A file in the data root changed; anything this process did not write itself is reindexed and committed as `external`. */
  fileEvent(file: string): Promise<void> {
    // One write raises several events at once (create, change): the look waits for the end of the
    // event loop's turn, and covers every event for the path that comes before it starts.
    const waiting = this.waitingEvents.get(file);
    if (waiting) return waiting;
    const look = new Promise((resolve) => setImmediate(resolve)).then(() =>
      this.vault.locked(file, async () => {
        this.waitingEvents.delete(file);
        if (await this.vault.isOwnChange(file)) return;
        const stat = await this.vault.stat(file);
        for (const { prefix, handle } of this.handlers) if (file.startsWith(prefix)) await handle(file, stat);
        this.history.enqueue({ author: 'external', paths: [file], summary: `${stat ? 'edit' : 'delete'} ${file}` });
      }),
    );
    this.waitingEvents.set(file, look);
    return look;
  }

  /**
   * Handles as a watcher event every file that differs from git and has no change of Roost's
   * queued: a hand edit the watcher missed is indexed and committed as `external` all the same.
   */
  sweep(): Promise<void> {
    this.sweeping ??= this.history
      .uncommitted()
      .then((files) => Promise.all(files.filter((file) => !isHidden(file) && !this.history.isPending(file)).map((file) => this.fileEvent(file))))
      .then(() => undefined)
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async watch(): Promise<void> {
    this.data = new TreeWatcher(this.options.home, isHidden, (file) => void this.fileEvent(file).catch(logError));
    const definitions = watch(this.options.botsDir, { ignoreInitial: true, depth: 0 });
    const reload = () => void this.registry.load().catch(logError);
    definitions.on('add', reload).on('change', reload).on('unlink', reload).on('error', logError);
    this.watchers = [definitions];
    await Promise.all([this.data.start(), new Promise<void>((resolve) => definitions.once('ready', () => resolve()))]);
    this.sweepTimer = setInterval(() => void this.sweep().catch(logError), this.options.sweepEveryMs ?? SWEEP_EVERY_MS);
    this.sweepTimer.unref();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.snapshotTimer);
    clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => undefined);
    await this.tasks.close();
    await this.runtimes.close();
    this.data?.close();
    await Promise.all(this.watchers.map((w) => w.close()));
    // Sends under way finish and queue their commits before the last commit.
    await this.mail.close();
    // The last commits close the vault's records.
    await this.history.close();
    await this.vault.close();
    this.memory.stopIndexing();
    await this.indexing;
    await this.index.saveSnapshots();
    await this.memory.semantic?.close();
    await this.lock.release();
  }
}

async function listFolders(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch {
    return [];
  }
}

/** Hidden files and folders (`.git`, `.roost`, temp files) are machine state, never a note or a hand edit. */
function isHidden(relative: string): boolean {
  return relative.split('/').some((s) => s.startsWith('.'));
}

function logError(error: unknown): void {
  console.error('roost:', error instanceof Error ? error.message : error);
}

/** A new data root gets the README that explains its layout (the one in this package's memory/); returns that README. */
async function writeDataReadme(home: string): Promise<string> {
  const file = path.join(home, 'README.md');
  const readme = await fs.readFile(path.join(PACKAGE_ROOT, 'memory', 'README.md'), 'utf8');
  // Also when a power cut left it empty: it was written at the first start, and never by anyone but Roost then.
  if (!(await fs.stat(file).catch(() => null))?.size) await writeDurably(file, readme);
  return readme;
}
