/**
 * The agent as a Node single executable application, for the Debian package (scripts/package.ts):
 * a copy of the Node that runs this build, with the agent's CommonJS bundle (scripts/bundle.ts)
 * injected as its main script. It needs nothing but the C and C++ libraries every Debian and
 * Ubuntu has, so the package does not depend on a `nodejs` that Debian 12 and Ubuntu 24.04 ship
 * too old (18; the agent needs 20.19). Why this and not `Depends: nodejs`: docs/install-package.md.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { bundleAgent } from './bundle.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The marker Node's build leaves in its binary for the injection to flip (Node's own name). */
const fuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export interface SingleExecutableReport {
  file: string;
  bytes: number;
  nodeVersion: string;
}

/**
 * Writes the executable to `outfile`. `bundledAgent` is where the package installs the ES module
 * bundle, which the restore kit copies to the drive (it needs only Node there).
 */
export async function makeSingleExecutable(
  outfile: string,
  bundledAgent: string,
): Promise<SingleExecutableReport> {
  const node = await readFile(process.execPath);
  if (!node.includes(fuse)) {
    throw new Error(
      `${process.execPath} (Node ${process.version}) cannot become a single executable: it has no ${fuse}. Build with an official Node build (nodejs.org, NodeSource), not a distribution's shared-library build.`,
    );
  }
  const work = await mkdtemp(path.join(tmpdir(), 'iba-sea-'));
  try {
    const main = path.join(work, 'agent.cjs');
    await bundleAgent(main, { bundledAgent });
    const blob = path.join(work, 'agent.blob');
    const config = path.join(work, 'sea-config.json');
    await writeFile(
      config,
      JSON.stringify({
        main,
        output: blob,
        // A root-run daemon's journal is no place for Node's "experimental" notice.
        disableExperimentalSEAWarning: true,
        // V8's compiled code for the main script, so a start does not parse 4.9 MB anew.
        useCodeCache: true,
      }),
    );
    await execa(process.execPath, ['--experimental-sea-config', config], { cwd: work });
    await copyFile(process.execPath, outfile);
    await chmod(outfile, 0o755);
    // Without the symbols Node's build keeps (13 MB), as Debian's own packaging strips them;
    // before the injection, which strip would not know to keep.
    await execa('strip', ['--strip-unneeded', '--remove-section=.comment', outfile]);
    await execa(
      path.join(repoRoot, 'node_modules/.bin/postject'),
      [outfile, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', fuse],
      // postject's ELF reader warns about Node's note sections; it is not an error.
      { stderr: 'pipe' },
    );
    const version = (await execa(outfile, ['--version'])).stdout.trim();
    if (!/^\d+\.\d+\.\d+/.test(version))
      throw new Error(`the single executable answers --version with ${JSON.stringify(version)}`);
    return {
      file: outfile,
      bytes: (await readFile(outfile)).length,
      nodeVersion: process.version,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
