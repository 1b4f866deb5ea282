import type { CliInput, CliOutput, SignalSource } from './io.js';

/** Terminal control sequences of a full-screen view. */
const ALT_ON = '\x1b[?1049h';
const ALT_OFF = '\x1b[?1049l';
const CURSOR_OFF = '\x1b[?25l';
const CURSOR_ON = '\x1b[?25h';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

const QUIT_KEYS = new Set(['q', 'Q', '\x03', '\x1b']);
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A full-screen view on the alternate screen: keys read raw, q / Ctrl-C / Esc or a signal quit,
 * and leave() gives the terminal back as it was (main screen, cursor, cooked input).
 */
export class Screen {
  quitting = false;
  private wake: (() => void) | undefined;
  private readonly onKey = (data: Buffer | string): void => {
    for (const ch of data.toString()) if (QUIT_KEYS.has(ch)) this.quit();
  };
  private readonly onSignal = (): void => this.quit();
  private raw = false;

  constructor(
    private readonly out: CliOutput,
    private readonly input: CliInput,
    private readonly signals: SignalSource,
  ) {}

  get columns(): number {
    return this.out.columns || 80;
  }

  get rows(): number {
    return this.out.rows || 24;
  }

  enter(): void {
    this.out.write(ALT_ON + CURSOR_OFF);
    if (this.input.isTTY && this.input.setRawMode) {
      this.input.setRawMode(true);
      this.raw = true;
    }
    this.input.on('data', this.onKey);
    this.input.resume();
    for (const s of SIGNALS) this.signals.on(s, this.onSignal);
  }

  /** Draws lines from the top, each cut to the terminal's width, and clears the rest. */
  draw(lines: string[]): void {
    const shown = lines.slice(0, this.rows).map((l) => l.slice(0, this.columns) + CLEAR_LINE);
    this.out.write(HOME + shown.join('\r\n') + CLEAR_BELOW);
  }

  /** Resolves after ms, or at once when the user quits. */
  sleep(ms: number): Promise<void> {
    if (this.quitting) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  quit(): void {
    this.quitting = true;
    this.wake?.();
  }

  leave(): void {
    for (const s of SIGNALS) this.signals.off(s, this.onSignal);
    this.input.off('data', this.onKey);
    if (this.raw) this.input.setRawMode?.(false);
    this.input.pause();
    this.out.write(CURSOR_ON + ALT_OFF);
  }
}
