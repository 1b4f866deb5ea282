import { spawnSync } from 'node:child_process';

const MARK = 'bpfmap-test-loaded ';

// Module hooks run on a thread of their own (Node 20): each module's URL goes to stderr, marked.
const HOOKS = `export async function load(url, context, next) { process.stderr.write(${JSON.stringify(MARK)} + url + '\\n'); return next(url, context); }`;
// CommonJS files that CommonJS files require pass no ESM hook: they are read from require's cache at exit.
const REGISTER = [
  "import { register, createRequire } from 'node:module';",
  `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}));`,
  "const require = createRequire(process.cwd() + '/');",
  `process.on('exit', () => { for (const f of Object.keys(require.cache)) process.stderr.write(${JSON.stringify(MARK)} + f + '\\n'); });`,
].join('\n');

/**
 * The modules (URLs and CommonJS paths) a child process loads while it runs `node --input-type=module
 * -e code` in cwd (or a script with args, when script is given); throws when it fails.
 */
export function loadedModules(opts: { code?: string; script?: string; args?: string[]; cwd?: string; env?: NodeJS.ProcessEnv }): {
  modules: string[];
  stdout: string;
} {
  const argv = ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`];
  if (opts.script !== undefined) argv.push(opts.script, ...(opts.args ?? []));
  else argv.push('--input-type=module', '-e', opts.code ?? '');
  const r = spawnSync(process.execPath, argv, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8' });
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith(MARK))
    .map((l) => l.slice(MARK.length));
  if (r.status !== 0)
    throw new Error(
      `node ${argv.slice(2).join(' ')} failed (${r.status}): ${r.stderr
        .split('\n')
        .filter((l) => !l.startsWith(MARK))
        .join('\n')}`,
    );
  return { modules, stdout: r.stdout };
}
