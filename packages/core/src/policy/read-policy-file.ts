/**
 * Reads one policy file safely: opened without blocking (a FIFO swapped in
 * for the file cannot hang the loader), checked to be a regular file after
 * it was opened (no race between a stat and the read), and refused when it
 * is larger than any policy should be (a huge file cannot exhaust memory).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { PolicyLoadError } from '../errors.ts';

/** No policy comes near this; a bigger file is refused rather than read. */
export const MAX_POLICY_FILE_BYTES = 16 * 1024 * 1024;

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function refuse(path: string, message: string): PolicyLoadError {
  return new PolicyLoadError([{ file: path, line: 1, column: 1, message }]);
}

function checkSize(path: string, info: { isFile(): boolean; size: number }): void {
  if (!info.isFile()) throw refuse(path, 'the policy path is not a regular file');
  if (info.size > MAX_POLICY_FILE_BYTES)
    throw refuse(path, `the policy file is larger than ${MAX_POLICY_FILE_BYTES} bytes`);
}

export async function readPolicyFile(path: string): Promise<Buffer> {
  const handle = await open(path, FLAGS);
  try {
    checkSize(path, await handle.stat());
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

export function readPolicyFileSync(path: string): Buffer {
  const fd = openSync(path, FLAGS);
  try {
    const info = fstatSync(fd);
    checkSize(path, info);
    const bytes = Buffer.alloc(info.size);
    let read = 0;
    while (read < info.size) {
      const n = readSync(fd, bytes, read, info.size - read, null);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}
