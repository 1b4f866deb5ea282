import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** A real terminal: a tmux server of its own (its own socket), one pane running bash. */
export class Tmux implements Disposable {
  private readonly socket = `bpfmap-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  constructor(private readonly tmux: string, columns = 120, rows = 40) {
    this.run('new-session', '-d', '-s', 'main', '-x', String(columns), '-y', String(rows), 'bash --norc --noprofile');
  }

  private run(...args: string[]): string {
    return execFileSync(this.tmux, ['-L', this.socket, ...args], { encoding: 'utf8', env: { ...process.env, PS1: '$ ' } });
  }

  /** Types a command line and presses Enter. */
  type(line: string): void {
    this.run('send-keys', '-t', 'main', '-l', line);
    this.run('send-keys', '-t', 'main', 'Enter');
  }

  /** Sends keys by tmux's names (q, C-c, Escape). */
  keys(...names: string[]): void {
    this.run('send-keys', '-t', 'main', ...names);
  }

  /** The visible screen as text. */
  screen(): string {
    return this.run('capture-pane', '-p', '-t', 'main');
  }

  /** A pane variable, e.g. alternate_on (1 while a full-screen program holds the terminal) or cursor_flag. */
  flag(name: string): string {
    return this.run('display-message', '-p', '-t', 'main', `#{${name}}`).trim();
  }

  /** Waits until the screen matches re (polling), or throws with the last screen. */
  async waitFor(re: RegExp, ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    let s = '';
    while (Date.now() < end) {
      s = this.screen();
      if (re.test(s)) return s;
      await sleep(50);
    }
    throw new Error(`the terminal never showed ${re}; it shows:\n${s}`);
  }

  [Symbol.dispose](): void {
    try {
      this.run('kill-server');
    } catch {
      // already gone
    }
  }
}
