import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { tempDir } from '../helpers.js';

/**
 * Loop-mounted ext4 images whose power can be cut: the file system shut down without flushing its
 * journal (EXT4_IOC_SHUTDOWN with NOLOGFLUSH, as xfstests' "godown" does), so that what the image
 * holds is what a power cut leaves. Needs Linux and root; unmounted and removed after the file's tests.
 */

export function sh(command: string, ...args: string[]): string {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why loop-mounted images cannot be used here, or null when they can. Under CI=true, a reason is an error. */
export function imagesUnavailable(): string | null {
  const reason = (() => {
    if (process.platform !== 'linux') return 'not Linux';
    if (process.getuid?.() !== 0) return 'not root (mounting an image needs root)';
    try {
      sh('mkfs.ext4', '-V');
      sh('losetup', '-f');
      return null;
    } catch (error) {
      return `no mkfs.ext4 or free loop device (${(error as Error).message.split('\n')[0]})`;
    }
  })();
  if (reason && process.env.CI === 'true') throw new Error(`the power-cut suite needs loop devices under CI: ${reason}`);
  if (reason) console.warn(`power-cut suite skipped: ${reason}`);
  return reason;
}

const work = tempDir('roost-powercut-');
const mounted: string[] = [];

afterAll(() => {
  for (const point of mounted) {
    try {
      sh('umount', point);
    } catch {
      // already unmounted
    }
  }
  rmSync(work, { recursive: true, force: true });
});

/** A new ext4 image of `megabytes`, mounted; returns the mount point. */
export function makeImage(name: string, megabytes: number): string {
  const image = path.join(work, `${name}.img`);
  const point = path.join(work, name);
  mkdirSync(point);
  sh('truncate', '-s', `${megabytes}M`, image);
  sh('mkfs.ext4', '-q', '-F', image);
  sh('mount', '-o', 'loop', image, point);
  mounted.push(point);
  return point;
}

/** The power cut: nothing more reaches the disk, not even the journal's last transactions. */
export function cutPower(point: string): void {
  sh('python3', '-c', `import fcntl,os,struct; fd=os.open(${JSON.stringify(point)},os.O_RDONLY); fcntl.ioctl(fd,0x8004587D,struct.pack('I',2))`);
}

export function remount(point: string): void {
  sh('umount', point);
  sh('mount', '-o', 'loop', path.join(work, `${path.basename(point)}.img`), point);
}
