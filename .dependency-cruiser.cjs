// The layers of src/, lowest first: a module may import only from its own layer or the ones before it.
// `npm test` runs this (npm run deps), so an upward import or a folder cycle fails the build.
const layers = ["lib", "config", "messages", "agents", "store", "sources", "runner", "handover", "observe", "checks", "alerts", "core", "chat", "monitor", "cli"];

const known = `^src/(${layers.join("|")})/`;

const upward = layers.map((layer, i) => ({
  name: `${layer}-imports-down`,
  comment: `src/${layer}/ may import only from: ${layers.slice(0, i + 1).join(", ")}`,
  severity: "error",
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${layers.slice(i + 1).join("|") || "$^"})/` },
}));

module.exports = {
  forbidden: [
    ...upward.filter((r) => r.to.path !== "^src/($^)/"),
    {
      // Without this, a new folder is in no layer and the rules above never see it: lib → new → chat would pass.
      name: "every-folder-is-a-layer",
      comment: `a folder under src/ must be one of the layers (${layers.join(", ")}): add it to the list where it belongs`,
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/[^/]+/", pathNot: known },
    },
    {
      name: "every-folder-is-a-layer",
      comment: "a module in a folder that is not a layer imports something: add the folder to the layer list",
      severity: "error",
      from: { path: "^src/[^/]+/", pathNot: known },
      to: {},
    },
    {
      name: "checks-are-pure",
      comment: "checks/ turns (observations, config, now) into findings: it may name the store's and observers' types, never run them",
      severity: "error",
      from: { path: "^src/checks/" },
      to: { path: "^src/(store|observe)/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "checks-are-pure",
      comment: "checks/ does no I/O: no Node built-ins (files, processes, network)",
      severity: "error",
      from: { path: "^src/checks/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "no-circular",
      comment: "modules that import each other, directly or around a loop, cannot be read or tested one at a time",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "nothing-imports-main",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^src/main\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
