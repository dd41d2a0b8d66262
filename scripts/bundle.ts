/**
 * `npm run build` (and `npm run bundle`): the agent as one file that needs only Node (>= 20.19), no node_modules and no
 * registry: `dist/bundle/immich-backup-agent.mjs`, made by esbuild from the built
 * `dist/src/cli/main.js` with every dependency inside. The restore kit carries it (issue 17) and
 * runs may start from it (issue 18). What does not bundle as it is, and what is done about it:
 *
 * - The package's own files (package.json for the version, udev/, systemd/, man/) are read from
 *   the package at run time by `src/package-files.ts`; here that module is replaced by one that
 *   holds them, so `--version` and `install` work with nothing beside the bundle, and that names
 *   the bundle itself as the agent the restore kit copies.
 * - `createRequire(import.meta.url)('x')`, the agent's way of loading pino-pretty and dbus-next
 *   only when they are needed, is opaque to esbuild: it becomes the plain `require('x')` that
 *   esbuild bundles and still runs only when called. Any other `import.meta` left in the agent's
 *   code would read beside the bundle, so it fails the build.
 * - CommonJS dependencies require Node's built-in modules; an ES module has no `require`, so the
 *   bundle makes one (the banner, with `__dirname`). Every require left in the output must be a
 *   built-in module.
 * - Optional native add-ons (ssh2's `cpu-features` and `sshcrypto.node`, dbus-next's `usocket`)
 *   and optional packages (debug's `supports-color`, dbus-next's `x11`, not installed) are
 *   replaced by modules that throw "not bundled": their packages already catch that and use
 *   their pure-JavaScript ways, as in an install where they were not built. Docker is reached
 *   over its Unix socket, so ssh2 (docker-modem's SSH transport) is never used; D-Bus over a
 *   plain `unix:path=` socket (the system bus), which needs no add-on.
 */
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';

/** The repository's root, from dist/scripts/bundle.js. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const builtSource = path.join(repoRoot, 'dist/src');

/** Where `npm run bundle` writes the bundle. */
export const bundleFile = path.join(repoRoot, 'dist/bundle/immich-backup-agent.mjs');

/** The folders of the package whose files the agent reads at run time (see package-files.ts). */
const shippedFolders = ['udev', 'systemd', 'man'];

/**
 * What the CommonJS dependencies expect and an ES module lacks: `require` (for Node's built-in
 * modules) and `__dirname`/`__filename`, here the bundle's own. Only code the agent never runs
 * reads files beside itself with them (dockerode's BuildKit .proto files, ssh2's Windows agent,
 * pino's worker transports): such a read fails as "no such file" instead of loading.
 */
const banner = [
  "import { createRequire as __bundleCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
  'const require = __bundleCreateRequire(import.meta.url);',
  'const __filename = __bundleFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join('\n');

/** Optional modules the dependencies try to load and get along without. */
const optionalModules = /^(cpu-features|supports-color|usocket|x11)$|\.node$/;

export interface BundleReport {
  file: string;
  bytes: number;
  gzipBytes: number;
}

/**
 * The CommonJS variant, for a Node single executable application (scripts/package-sea.ts): Node
 * 20 runs only a CommonJS main script there, whose `require`, `__filename` and `__dirname` Node
 * gives (no banner), without top-level await (main.js's last line becomes a plain call: the
 * exit code is set through process.exitCode either way). The restore kit copies `bundledAgent`,
 * the ES module bundle the package installs beside the executable.
 */
export interface CommonJsVariant {
  bundledAgent: string;
}

export async function bundleAgent(
  outfile = bundleFile,
  commonJs?: CommonJsVariant,
): Promise<BundleReport> {
  await mkdir(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [path.join(builtSource, 'cli/main.js')],
    outfile,
    bundle: true,
    platform: 'node',
    format: commonJs ? 'cjs' : 'esm',
    target: 'node20.19',
    // main.js's own `#!/usr/bin/env node` comes first, this after it.
    ...(commonJs ? {} : { banner: { js: banner } }),
    plugins: [
      embeddedPackageFiles(commonJs),
      lazyRequires(commonJs !== undefined),
      absentOptionalModules(),
    ],
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
  const text = await readFile(outfile);
  const leftRequires = [
    ...new Set([...text.toString('utf8').matchAll(/__require\("([^"]+)"\)/g)].map((m) => m[1])),
  ].filter((name) => name && !isBuiltin(name));
  if (leftRequires.length > 0) {
    throw new Error(
      `the bundle still requires ${leftRequires.join(', ')} from outside it: bundle them or add them to the optional modules`,
    );
  }
  return { file: outfile, bytes: text.length, gzipBytes: gzipSync(text).length };
}

/** src/package-files.ts, replaced by a module that holds the files it would read. */
function embeddedPackageFiles(commonJs?: CommonJsVariant): Plugin {
  return {
    name: 'embedded-package-files',
    setup(builder) {
      builder.onResolve({ filter: /\/package-files\.js$/ }, (args) => {
        const resolved = path.resolve(args.resolveDir, args.path);
        if (resolved !== path.join(builtSource, 'package-files.js')) return undefined;
        return { path: resolved, namespace: 'embedded-package-files' };
      });
      builder.onLoad({ filter: /.*/, namespace: 'embedded-package-files' }, async () => {
        const packageJson = await readFile(path.join(repoRoot, 'package.json'), 'utf8');
        const files: Record<string, string> = { 'package.json': packageJson };
        for (const folder of shippedFolders) {
          for (const name of await readdir(path.join(repoRoot, folder))) {
            const relative = `${folder}/${name}`;
            files[relative] = await readFile(path.join(repoRoot, relative), 'utf8');
          }
        }
        const version = (JSON.parse(packageJson) as { version: string }).version;
        return {
          loader: 'js',
          contents: [
            "import { fileURLToPath } from 'node:url';",
            `const files = new Map(Object.entries(${JSON.stringify(files)}));`,
            // The restore kit copies the agent it runs as: this very file (or, from a single
            // executable, the ES module bundle installed beside it).
            commonJs
              ? `export const bundledAgent = { running: false, file: ${JSON.stringify(commonJs.bundledAgent)} };`
              : 'export const bundledAgent = { running: true, file: fileURLToPath(import.meta.url) };',
            `export const packageVersion = ${JSON.stringify(version)};`,
            'export async function readPackageFile(relativePath) {',
            '  const text = files.get(relativePath);',
            '  if (text === undefined)',
            '    throw new Error(`${relativePath} is not in the bundled agent (it holds ${[...files.keys()].join(", ")})`);',
            '  return text;',
            '}',
          ].join('\n'),
        };
      });
    },
  };
}

/** `createRequire(import.meta.url)('x')` in the agent's code, as the `require('x')` esbuild sees. */
function lazyRequires(commonJs: boolean): Plugin {
  return {
    name: 'lazy-requires',
    setup(builder) {
      builder.onLoad({ filter: /\.js$/ }, async (args) => {
        if (!args.path.startsWith(`${builtSource}/`)) return undefined;
        let source = await readFile(args.path, 'utf8');
        if (commonJs && args.path === path.join(builtSource, 'cli/main.js'))
          source = source.replace(/^await main\(process\.argv\);$/m, 'void main(process.argv);');
        const contents = source.replace(
          /createRequire\(import\.meta\.url\)\(('[^']+'|"[^"]+")\)/g,
          'require($1)',
        );
        if (contents.includes('import.meta')) {
          return {
            errors: [
              {
                text: `${path.relative(repoRoot, args.path)} uses import.meta, which in the bundle is the bundle's own place: read package files through src/package-files.ts`,
              },
            ],
          };
        }
        return { contents, loader: 'js' };
      });
    },
  };
}

/** Optional modules as modules that throw, the way a missing optional module does. */
function absentOptionalModules(): Plugin {
  return {
    name: 'absent-optional-modules',
    setup(builder) {
      builder.onResolve({ filter: optionalModules }, (args) => ({
        path: args.path,
        namespace: 'absent-optional-module',
      }));
      builder.onLoad({ filter: /.*/, namespace: 'absent-optional-module' }, (args) => ({
        loader: 'js',
        contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not in the bundled agent`)}), { code: 'MODULE_NOT_FOUND' });`,
      }));
    },
  };
}

// `node dist/scripts/bundle.js`: build it and say how big it is.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = await bundleAgent();
  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(0)} KiB`;
  process.stdout.write(
    `${path.relative(process.cwd(), report.file)}: ${report.bytes.toLocaleString('en')} bytes (${kib(report.bytes)}), ${report.gzipBytes.toLocaleString('en')} gzip'd (${kib(report.gzipBytes)})\n`,
  );
}
