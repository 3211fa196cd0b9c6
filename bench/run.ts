import { benchReport } from "./report.ts";
import { benchScan } from "./scan.ts";
import { benchScanThreads } from "./scan-threads.ts";
import { benchSessionsQuery } from "./sessions-query.ts";

/** `npm run bench`: every benchmark, one after another. Flags are passed to each (see bench/scan.ts). */
await benchScan();
await benchScanThreads();
await benchSessionsQuery();
await benchReport();
