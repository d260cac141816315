/**
 * Every manifest in k8s/, checked offline against the official Kubernetes
 * schemas of kubernetes-models@4 in two ways:
 *   - its validate() (types, enums, required fields, from the OpenAPI schemas);
 *   - unknown keys, which validate() lets through: each document is written
 *     into a TypeScript source as an object literal typed with the model's
 *     interface, and the compiler's excess-property check rejects any key the
 *     schema does not have, at every depth.
 * The kustomizations are checked for the files they name.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import YAML from "yaml";

const K8S_DIR = __dirname;

interface Manifest {
  file: string;
  index: number;
  doc: { apiVersion?: string; kind?: string; [key: string]: unknown };
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(e.name) ? [full] : [];
  });
}

function manifests(): Manifest[] {
  return yamlFiles(K8S_DIR).flatMap((file) =>
    YAML.parseAllDocuments(fs.readFileSync(file, "utf8")).map((d, index) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
      return { file: path.relative(K8S_DIR, file), index, doc: d.toJSON() as Manifest["doc"] };
    }),
  );
}

/** kubernetes-models' module of an apiVersion + kind ("apps/v1", "Deployment" → "kubernetes-models/apps/v1/Deployment"). */
export function modelModule(apiVersion: string, kind: string): string {
  return `kubernetes-models/${apiVersion}/${kind}`;
}

type ModelClass = new (data: unknown) => { validate(): void };

function modelClass(apiVersion: string, kind: string): ModelClass {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(modelModule(apiVersion, kind)) as { [name: string]: ModelClass };
  const cls = mod[kind];
  if (cls === undefined) throw new Error(`kubernetes-models has no ${kind} in ${apiVersion}`);
  return cls;
}

/** The compiler's complaints about these documents typed as their models (empty: every key is known). */
export function unknownKeyProblems(docs: Manifest[]): string[] {
  const fileName = path.join(K8S_DIR, "__manifests_typed__.ts");
  const source = docs
    .map((m, i) => {
      const iface = `I${m.doc.kind}`;
      return (
        `import type { ${iface} as T${i} } from "${modelModule(m.doc.apiVersion!, m.doc.kind!)}";\n` +
        `// ${m.file}#${m.index}\nexport const m${i}: T${i} = ${JSON.stringify(m.doc, null, 2)};\n`
      );
    })
    .join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (f) => (path.resolve(f) === fileName ? source : readFile(f));
  host.fileExists = (f) => path.resolve(f) === fileName || fs.existsSync(f);
  host.getSourceFile = (f, lang, ...rest) =>
    path.resolve(f) === fileName
      ? ts.createSourceFile(f, source, lang, true)
      : getSourceFile(f, lang, ...rest);
  const program = ts.createProgram([fileName], options, host);
  const sf = program.getSourceFile(fileName)!;
  return [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)].map((d) => {
    const line = d.start !== undefined ? sf.getLineAndCharacterOfPosition(d.start).line : 0;
    // The nearest "// file#index" comment above the complaint names the manifest.
    const lines = source.split("\n").slice(0, line + 1);
    const origin = [...lines].reverse().find((l) => l.startsWith("// ")) ?? "";
    return `${origin.slice(3)}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}

const all = manifests();
const resources = all.filter((m) => m.doc.kind !== "Kustomization");

test("k8s/ holds the manifests the docs describe", () => {
  const kinds = new Set(resources.map((m) => m.doc.kind));
  for (const kind of ["Deployment", "StatefulSet", "PodDisruptionBudget", "Service", "CronJob"])
    expect(kinds).toContain(kind);
});

test.each(resources.map((m) => [`${m.file}#${m.index} ${m.doc.kind}`, m] as const))(
  "%s passes the Kubernetes schema",
  (_name, m) => {
    expect(typeof m.doc.apiVersion).toBe("string");
    expect(typeof m.doc.kind).toBe("string");
    expect(() => new (modelClass(m.doc.apiVersion!, m.doc.kind!))(m.doc).validate()).not.toThrow();
  },
);

test("no manifest has a key the Kubernetes schemas do not know", () => {
  expect(unknownKeyProblems(resources)).toEqual([]);
}, 60_000);

test("the unknown-key check rejects a misspelt key deep inside a pod template", () => {
  const deployment = resources.find((m) => m.doc.kind === "Deployment")!;
  const bad = structuredClone(deployment);
  const spec = bad.doc.spec as { template: { spec: { containers: Array<{ [k: string]: unknown }> } } };
  spec.template.spec.containers[0]!.imagePullPolicyy = "Always";
  const problems = unknownKeyProblems([bad]);
  expect(problems).toHaveLength(1);
  expect(problems[0]).toContain("imagePullPolicyy");
  expect(problems[0]).toContain(deployment.file);
}, 60_000);

test("every kustomization names files that exist", () => {
  for (const k of all.filter((m) => m.doc.kind === "Kustomization")) {
    const dir = path.join(K8S_DIR, path.dirname(k.file));
    for (const r of (k.doc.resources as string[] | undefined) ?? [])
      expect([r, fs.existsSync(path.join(dir, r))]).toEqual([r, true]);
  }
});

test("the schema check rejects a wrong type (replicas as text)", () => {
  const deployment = resources.find((m) => m.doc.kind === "Deployment")!;
  const bad = structuredClone(deployment.doc);
  (bad.spec as { replicas: unknown }).replicas = "three";
  expect(() => new (modelClass(bad.apiVersion!, bad.kind!))(bad).validate()).toThrow(/replicas/);
});
