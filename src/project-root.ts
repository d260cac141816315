/**
 * The directory holding this project's package.json, found by walking up from
 * this file: the same answer from `src/project-root.ts` (ts-jest, tsx) and from
 * the compiled `dist/src/project-root.js`. Files read at run time (proto/,
 * tools spawned by path) are resolved from here, never from `__dirname`.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export function findProjectRoot(from: string): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const PROJECT_ROOT = findProjectRoot(__dirname);
