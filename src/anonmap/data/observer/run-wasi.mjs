// Runs the C-library observer built for wasm32-wasi under Node's WASI (node:wasi, preview1):
// node run-wasi.mjs OBSERVER.wasm TMPDIR [observer arguments...]. The observer sees TMPDIR as
// /tmp (its one preopened directory: the regular file of the fd-argument cases goes there) and
// nothing else of the host's file system, /dev included; its exit status is the process's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const [binary, tmp, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: ['anonmap-observer', ...args], env: {}, preopens: { '/tmp': tmp } });
const module = await WebAssembly.compile(await readFile(binary));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
