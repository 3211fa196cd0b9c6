import { benchScan } from "./scan.ts";

/** `npm run bench`: every benchmark, one after another. Flags are passed to each (see bench/scan.ts). */
await benchScan();
