/** Where signals arrive: the process itself, or an emitter a test drives. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

/** An output stream; fd when it is a file descriptor (drain writes those with write(2) to know what was written). */
export type CliOutput = NodeJS.WritableStream & { isTTY?: boolean; fd?: number; columns?: number; rows?: number };

/** An input stream; setRawMode when it is a terminal (watch reads keys raw). */
export type CliInput = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };

/**
 * Everything a run of the CLI reads, writes and is told, so that it runs in a process of its own
 * (the bin shim passes the process's) or inside a test with captured streams.
 */
export interface CliIo {
  stdin: CliInput;
  stdout: CliOutput;
  stderr: CliOutput;
  env: NodeJS.ProcessEnv;
  signals: SignalSource;
  /**
   * Ends the process at once with code: a reader that goes away (`| head`) ends the output
   * quietly, like other Unix tools. Absent in process, where nothing may end the process.
   */
  exit?: (code: number) => void;
}

/** The process's own streams, environment and signals. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, signals: process, exit: (code) => process.exit(code) };
}
