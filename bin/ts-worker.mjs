// A worker thread's entry when asm runs from its TypeScript sources (tests, an edited checkout): Node 20 does not
// pass tsx's loader on to worker threads, so this registers it and imports the real entry, given as argv[2] (a file URL).
// From the bundle (dist/) the worker entry is plain JavaScript and this file is not used.
import { tsImport } from "tsx/esm/api";

await tsImport(process.argv[2], import.meta.url);
