/**
 * `npm run package`: the Debian package, `dist/package/immich-backup-agent_<version>-1_<arch>.deb`,
 * built with dpkg-deb from what `npm run build` made (no network: the npm registry was needed
 * only by `npm ci`). What goes where, and why a single executable rather than `Depends: nodejs`:
 * docs/install-package.md. The tree, before dpkg-deb packs it as root:root:
 *
 *   usr/bin/immich-backup-agent                   the agent as a Node single executable
 *   usr/lib/immich-backup-agent/immich-backup-agent.mjs   the bundle the restore kit copies
 *   usr/lib/udev/rules.d/90-immich-backup-agent.rules     packaging/udev/ (reads install's drives)
 *   usr/lib/systemd/system/*.service              systemd/, running /usr/bin/immich-backup-agent
 *   usr/share/man/man8/immich-backup-agent.8.gz   man/
 *   usr/share/bash-completion/…, usr/share/zsh/vendor-completions/…   from buildProgram()
 *   usr/share/doc/immich-backup-agent/            copyright, changelogs, config.example.yml
 *   DEBIAN/                                       control, md5sums, packaging/debian/ scripts
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { execa } from 'execa';
import { buildProgram } from '../src/cli/program.js';
import { completionFiles, readCommand } from '../src/cli/completion.js';
import { bashCompletion } from '../src/cli/completion-bash.js';
import { zshCompletion } from '../src/cli/completion-zsh.js';
import {
  daemonUnitName,
  hotplugUnitName,
  manPageName,
  ruleFileName,
} from '../src/install/templates.js';
import { bundleFile } from './bundle.js';
import { copyrightFile } from './package-copyright.js';
import { makeSingleExecutable } from './package-sea.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const name = 'immich-backup-agent';
/** Where the package puts the ES module bundle (the restore kit's copy comes from here). */
export const installedBundle = `/usr/lib/${name}/${name}.mjs`;
const docFolder = `usr/share/doc/${name}`;
const maintainer = 'immich-backup-agent developers <immich-backup-agent@users.noreply.github.com>';
/** dpkg-shlibdeps' answer for Node 20's official build, when dpkg-dev is not installed. */
const nodeLibraries = 'libc6 (>= 2.34), libgcc-s1 (>= 3.4), libstdc++6 (>= 5.2)';

export interface PackageReport {
  file: string;
  bytes: number;
  installedKib: number;
  architecture: string;
  nodeVersion: string;
}

/** Debian's name for the architecture this Node (and so the executable) is built for. */
function debianArchitecture(): string {
  const names: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'armhf' };
  const architecture = names[process.arch];
  if (!architecture) throw new Error(`no Debian architecture known for Node's ${process.arch}`);
  return architecture;
}

/** The libraries the executable links, as Depends, from dpkg-shlibdeps where it is installed. */
async function libraryDepends(executable: string, work: string): Promise<string> {
  const which = await execa('sh', ['-c', 'command -v dpkg-shlibdeps'], { reject: false });
  if (which.exitCode !== 0) return nodeLibraries;
  await mkdir(path.join(work, 'debian'), { recursive: true });
  await writeFile(
    path.join(work, 'debian/control'),
    `Source: ${name}\n\nPackage: ${name}\nArchitecture: any\n`,
  );
  const result = await execa('dpkg-shlibdeps', ['-O', '-e', executable], { cwd: work });
  const line = /^shlibs:Depends=(.*)$/m.exec(String(result.stdout))?.[1];
  if (!line) throw new Error(`dpkg-shlibdeps said nothing usable: ${String(result.stdout)}`);
  return line;
}

/** Every file under a folder, relative to it. */
async function filesUnder(folder: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(folder, prefix), { withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(prefix, entry.name);
    files.push(...(entry.isDirectory() ? await filesUnder(folder, relative) : [relative]));
  }
  return files.sort();
}

export async function buildPackage(
  outDir = path.join(repoRoot, 'dist/package'),
): Promise<PackageReport> {
  if (!existsSync(bundleFile)) throw new Error(`${bundleFile} is missing: run npm run build first`);
  const upstream = (
    JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const version = `${upstream}-1`;
  const architecture = debianArchitecture();
  const stage = path.join(outDir, 'root');
  await rm(outDir, { recursive: true, force: true });
  const put = async (relative: string, content: string | Buffer, mode = 0o644): Promise<void> => {
    const file = path.join(stage, relative);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, content);
    await chmod(file, mode);
  };
  const shipped = (relative: string): Promise<string> =>
    readFile(path.join(repoRoot, relative), 'utf8');
  const gzip = (text: string | Buffer): Buffer => gzipSync(text, { level: 9 });

  await mkdir(path.join(stage, 'usr/bin'), { recursive: true });
  const executable = path.join(stage, 'usr/bin', name);
  const sea = await makeSingleExecutable(executable, installedBundle);
  // Data for the restore kit, not a program of this system (it would want a nodejs): not executable.
  await put(installedBundle.slice(1), await readFile(bundleFile));
  await put(
    `usr/lib/udev/rules.d/${ruleFileName}`,
    await shipped(`packaging/udev/${ruleFileName}`),
  );
  for (const unit of [hotplugUnitName, daemonUnitName]) {
    const text = (await shipped(`systemd/${unit}`)).replaceAll(
      '/usr/local/bin/immich-backup-agent',
      `/usr/bin/${name}`,
    );
    await put(`usr/lib/systemd/system/${unit}`, text);
  }
  await put(`usr/share/man/man8/${manPageName}.gz`, gzip(await shipped(`man/${manPageName}`)));
  const program = readCommand(buildProgram());
  await put(completionFiles.bash, bashCompletion(program, name));
  await put(completionFiles.zsh, zshCompletion(program, name));
  await put(`${docFolder}/config.example.yml`, await shipped('config.example.yml'));
  await put(`${docFolder}/changelog.gz`, gzip(await shipped('CHANGELOG.md')));
  await put(`${docFolder}/changelog.Debian.gz`, gzip(await debianChangelog(version)));
  await put(`${docFolder}/copyright`, await copyrightFile(repoRoot, version));
  await put(
    `usr/share/lintian/overrides/${name}`,
    await shipped('packaging/debian/lintian-overrides'),
  );

  const payload = await filesUnder(stage);
  for (const script of ['postinst', 'prerm', 'postrm'])
    await put(`DEBIAN/${script}`, await shipped(`packaging/debian/${script}`), 0o755);
  const md5sums = await Promise.all(
    payload.map(async (file) => {
      const digest = createHash('md5')
        .update(await readFile(path.join(stage, file)))
        .digest('hex');
      return `${digest}  ${file}\n`;
    }),
  );
  await put('DEBIAN/md5sums', md5sums.join(''));
  const sizes = await Promise.all(
    payload.map(async (file) => (await stat(path.join(stage, file))).size),
  );
  const installedKib = Math.ceil(sizes.reduce((sum, size) => sum + size, 0) / 1024);
  const control = [
    `Package: ${name}`,
    `Version: ${version}`,
    `Architecture: ${architecture}`,
    `Maintainer: ${maintainer}`,
    `Installed-Size: ${installedKib}`,
    `Depends: ${await libraryDepends(executable, path.join(outDir, 'shlibs'))}, rsync, docker.io | docker-ce | docker-engine`,
    'Section: admin',
    'Priority: optional',
    'Homepage: https://github.com/immich-backup-agent/immich-backup-agent',
    'Description: back up a self-hosted Immich to a USB drive when it is plugged in',
    ' Keeps a Docker Compose Immich server backed up to an external USB drive: a',
    ' database dump, a mirror of the library and the configuration, with the server',
    ' always brought back. Plugging the drive in starts a backup when one is due;',
    ' a daemon keeps a weekly window as the fallback. The agent carries its own',
    ` Node.js (${sea.nodeVersion}), so no nodejs package is needed.`,
    '',
  ].join('\n');
  await put('DEBIAN/control', control);
  await rm(path.join(outDir, 'shlibs'), { recursive: true, force: true });
  const file = path.join(outDir, `${name}_${version}_${architecture}.deb`);
  await execa('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', stage, file]);
  await rm(stage, { recursive: true, force: true });
  return {
    file,
    bytes: (await stat(file)).size,
    installedKib,
    architecture,
    nodeVersion: sea.nodeVersion,
  };
}

/** Debian's changelog of the package: one entry, for this version, dated by the last commit. */
async function debianChangelog(version: string): Promise<string> {
  const committed = await execa('git', ['log', '-1', '--format=%ct'], {
    cwd: repoRoot,
    reject: false,
  });
  const seconds = Number(String(committed.stdout).trim()) || Math.floor(Date.now() / 1000);
  const date = (await execa('date', ['-R', '-u', '-d', `@${seconds}`])).stdout.trim();
  return [
    `${name} (${version}) unstable; urgency=medium`,
    '',
    `  * Built from the upstream release ${version.replace(/-\d+$/, '')} by npm run package; what`,
    '    changed upstream is in changelog.gz beside this file.',
    '',
    ` -- ${maintainer}  ${date}`,
    '',
  ].join('\n');
}

// `node dist/scripts/package.js`: build it and say what it is.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = await buildPackage();
  process.stdout.write(
    `${path.relative(process.cwd(), report.file)}: ${(report.bytes / 1024 / 1024).toFixed(1)} MiB (${(report.installedKib / 1024).toFixed(1)} MiB installed), ${report.architecture}, Node ${report.nodeVersion} inside\n`,
  );
}
