/**
 * The console page: one EventSource on /api/events redraws pipelines, sidecars and errors about
 * once a second; the Tap panel reads /api/tap (server-sent events); dead letters are listed from
 * /api/pipelines/<name>/dead-letters and replayed with the admin token (docs/console.md).
 * Bundled by esbuild into dist/console/app.js (scripts/build.sh); nothing is fetched from elsewhere.
 */
import type {
  ConsoleDeadLetters,
  ConsoleOverview,
  ConsolePipeline,
  ConsoleReplayResult,
  ConsoleStage,
  ConsoleTapRecord,
} from "../router/console/api-types";

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function el(
  tag: string,
  attrs: { [k: string]: string } = {},
  ...children: Array<Node | string>
): HTMLElement {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function rate(n: number): string {
  return n >= 100 ? `${Math.round(n)}/s` : `${n.toFixed(1)}/s`;
}

function bytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB/s`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB/s`;
  return `${Math.round(n)} B/s`;
}

function ms(n: number | null): string {
  if (n === null) return "–";
  return n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 0)} ms`;
}

function age(msAgo: number): string {
  const s = msAgo / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`;
}

function stageBox(p: ConsolePipeline, s: ConsoleStage): HTMLElement {
  const dl = el("dl");
  const row = (k: string, v: string, cls: string): void => {
    dl.append(el("dt", {}, k), el("dd", { class: cls }, v));
  };
  row("in", rate(s.rateIn), "rate-in");
  row("out", rate(s.rateOut), "rate-out");
  row("total in", String(s.recordsIn), "total-in");
  row("bytes", bytes(s.bytesInRate), "bytes-in");
  row("errors", `${s.errors}${s.errorRate > 0 ? ` (${rate(s.errorRate)})` : ""}`, "errors");
  row("dead letters", String(s.dlqCount), "dlq");
  row("in flight", String(s.inFlight), "in-flight");
  row("p99", ms(s.p99Ms), "p99");
  if (s.peerShare > 0) row("via peer", `${Math.round(s.peerShare * 100)}%`, "peer-share");
  const pods = el("div", { class: "pods" });
  for (const i of s.instances)
    pods.append(
      el(
        "span",
        {
          class: `pod ${i.state}`,
          "data-sidecar": i.sidecarId,
          title: `sidecar ${i.sidecarId}, ${rate(i.rateIn)}`,
        },
        `${i.podName || i.sidecarId} g${i.generation}${i.partitions.length ? ` p${i.partitions.join(",")}` : ""}`,
      ),
    );
  if (s.instances.length === 0) pods.append(el("span", { class: "pod dead" }, "no sidecar"));
  const kind = s.deadLetter ? "dead letters" : s.builtin ? `${s.kind} · builtin ${s.builtin}` : s.kind;
  return el(
    "div",
    {
      class: `stage ${s.state === "error" ? "error" : ""} ${s.deadLetter ? "dlq" : ""}`,
      "data-pipeline": p.name,
      "data-stage": s.name,
    },
    el("div", {}, el("span", { class: "name" }, s.name), el("span", { class: "kind" }, kind)),
    dl,
    pods,
  );
}

function drawPipelines(o: ConsoleOverview): void {
  const root = $("pipelines");
  root.replaceChildren();
  if (o.pipelines.length === 0) root.append(el("p", { class: "muted" }, "no pipelines"));
  for (const p of o.pipelines) {
    const graph = el("div", { class: "graph" });
    p.stages.forEach((s, i) => {
      if (i > 0)
        graph.append(
          s.deadLetter
            ? el("div", { class: "edge" }, "failed")
            : el("div", { class: `edge ${s.peerHopIn ? "peer" : ""}` }, s.peerHopIn ? "peer hop" : ""),
        );
      graph.append(stageBox(p, s));
    });
    const reasons = p.reasons.length ? ` — ${p.reasons.join("; ")}` : "";
    root.append(
      el(
        "div",
        { class: "pipeline", "data-pipeline": p.name },
        el("h3", {}, `${p.name} `, el("span", { class: "muted" }, `${p.state}${reasons}`)),
        graph,
      ),
    );
  }
}

function drawSidecars(o: ConsoleOverview): void {
  const body = $("sidecars").querySelector("tbody")!;
  body.replaceChildren(
    ...o.sidecars.map((s) =>
      el(
        "tr",
        {
          class: s.state === "alive" ? (s.behind ? "behind" : "") : s.state,
          "data-sidecar": s.id,
          "data-state": s.state,
          ...(s.fenceReason ? { title: s.fenceReason } : {}),
        },
        el("td", {}, s.id),
        el("td", {}, s.podName),
        el("td", {}, s.namespace),
        el(
          "td",
          {},
          s.state === "fenced"
            ? `fenced: ${s.fenceReason}`
            : s.state === "alive" && s.behind
              ? "alive (table behind)"
              : s.state,
        ),
        el("td", {}, age(s.heartbeatAgeMs)),
        el("td", {}, `v${s.routingVersion}`),
        el(
          "td",
          {},
          s.services
            .map((v) => `${v.stageName} (${v.kind}, :${v.endpoint.split(":").pop() ?? ""})`)
            .join(", ") || "–",
        ),
      ),
    ),
  );
}

function drawErrors(o: ConsoleOverview): void {
  const rows: HTMLElement[] = [];
  for (const p of o.pipelines)
    for (const s of p.stages)
      for (const e of s.recentErrors)
        rows.push(
          el(
            "tr",
            { "data-stage": s.name, "data-record": e.recordId },
            el("td", {}, new Date(e.timeMs).toLocaleTimeString()),
            el("td", {}, p.name),
            el("td", {}, s.name),
            el("td", {}, e.code),
            el("td", {}, e.message),
            el("td", {}, e.recordId || "–"),
            el("td", {}, e.attempt ? String(e.attempt) : "–"),
            el("td", {}, e.sidecarId),
          ),
        );
  $("errors")
    .querySelector("tbody")!
    .replaceChildren(...rows);
  $("errors-empty").hidden = rows.length > 0;
}

function drawMirrors(o: ConsoleOverview): void {
  const rows: HTMLElement[] = [];
  const num = (n: number | null): string => (n === null ? "–" : String(n));
  for (const p of o.pipelines)
    for (const s of p.stages)
      for (const m of s.mirrors)
        rows.push(
          el(
            "tr",
            {
              class: m.error ? "dead" : m.lag !== null && m.lag > 0 ? "behind" : "",
              "data-mirror": m.name,
              "data-partition": String(m.partition),
            },
            el("td", {}, p.name),
            el("td", {}, m.name),
            el("td", {}, `${m.topic}/${m.partition}`),
            el("td", { class: "source-high" }, num(m.sourceHigh)),
            el("td", { class: "dest-next" }, num(m.destNext)),
            el("td", { class: "lag" }, num(m.lag)),
            el(
              "td",
              { class: "flush-age" },
              m.lastFlushAgeMs === null ? "never" : `${age(m.lastFlushAgeMs)} ago`,
            ),
            el("td", {}, m.error ? `${m.state}: ${m.error}` : m.state),
            el("td", {}, m.sidecarId),
          ),
        );
  $("mirrors")
    .querySelector("tbody")!
    .replaceChildren(...rows);
  $("mirrors-empty").hidden = rows.length > 0;
}

/** Keeps a select's options equal to `values`, and its choice when it is still one of them. */
function syncOptions(select: HTMLSelectElement, values: string[]): void {
  const current = select.value;
  if ([...select.options].map((x) => x.value).join("\n") === values.join("\n")) return;
  select.replaceChildren(...values.map((v) => el("option", { value: v }, v)));
  if (values.includes(current)) select.value = current;
}

function draw(o: ConsoleOverview): void {
  $("live").textContent = `live · ${new Date(o.nowMs).toLocaleTimeString()}`;
  $("generation").textContent = `table v${o.generation}`;
  drawPipelines(o);
  drawSidecars(o);
  drawErrors(o);
  drawMirrors(o);
  syncOptions(
    $("tap-stage"),
    o.pipelines.flatMap((p) => p.stages.filter((s) => s.index > 0).map((s) => `${p.name}/${s.name}`)),
  );
  syncOptions(
    $("dlq-pipeline"),
    o.pipelines.map((p) => p.name),
  );
}

function connect(): void {
  const events = new EventSource("api/events");
  events.addEventListener("overview", (e) =>
    draw(JSON.parse((e as MessageEvent<string>).data) as ConsoleOverview),
  );
  events.onerror = () => {
    $("live").textContent = "disconnected; retrying…";
  };
}

// ---- Tap
let tap: EventSource | undefined;
$("tap-form").addEventListener("submit", (e) => {
  e.preventDefault();
  tap?.close();
  const [pipeline, stage] = ($("tap-stage") as HTMLSelectElement).value.split("/");
  if (!pipeline || !stage) return;
  const list = $("tap-records");
  list.replaceChildren();
  tap = new EventSource(
    `api/tap?pipeline=${encodeURIComponent(pipeline)}&stage=${encodeURIComponent(stage)}&max=200`,
  );
  ($("tap-stop") as HTMLButtonElement).disabled = false;
  tap.addEventListener("record", (ev) => {
    const r = JSON.parse((ev as MessageEvent<string>).data) as ConsoleTapRecord;
    const headers = Object.entries(r.headers)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    list.prepend(
      el("li", { "data-record": r.id }, `${r.id} key=${r.key || "–"} ${headers} ${r.valuePreview}`),
    );
    while (list.children.length > 200) list.lastElementChild?.remove();
  });
  const stop = (): void => {
    tap?.close();
    tap = undefined;
    ($("tap-stop") as HTMLButtonElement).disabled = true;
  };
  tap.addEventListener("end", stop);
  tap.addEventListener("tap-error", (ev) =>
    list.prepend(el("li", { class: "dead" }, (ev as MessageEvent<string>).data)),
  );
  $("tap-stop").onclick = stop;
});

// ---- Dead letters
function token(): string {
  return ($("token") as HTMLInputElement).value;
}

const DLQ_PAGE = 50;
let dlqOffset = 0;

async function loadDeadLetters(): Promise<void> {
  const pipeline = ($("dlq-pipeline") as HTMLSelectElement).value;
  if (!pipeline) return;
  const stage = ($("dlq-stage") as HTMLInputElement).value.trim();
  const query = new URLSearchParams({ offset: String(dlqOffset), limit: String(DLQ_PAGE) });
  if (stage) query.set("stage", stage);
  const res = await fetch(`api/pipelines/${encodeURIComponent(pipeline)}/dead-letters?${query.toString()}`);
  const body = (await res.json()) as ConsoleDeadLetters & { error?: string };
  const note = $("dlq-note");
  note.className = body.unavailable || body.error ? "dead" : "muted";
  // totalExact false: the router stopped counting past about 1 MiB of files, so `total` is a lower bound.
  const total = body.total ?? 0;
  const shown = body.totalExact === false ? `${total}+` : String(total);
  note.textContent = body.error ?? body.unavailable ?? `${shown} dead letter(s) in ${body.dir}`;
  const letters = body.letters ?? [];
  $("dlq-page").textContent =
    letters.length > 0 ? `${dlqOffset + 1}–${dlqOffset + letters.length} of ${shown}` : "";
  ($("dlq-prev") as HTMLButtonElement).disabled = dlqOffset === 0;
  ($("dlq-next") as HTMLButtonElement).disabled = dlqOffset + letters.length >= total;
  $("dlq")
    .querySelector("tbody")!
    .replaceChildren(
      ...(body.letters ?? []).map((d) => {
        const box = el("input", { type: "checkbox", value: d.id, "aria-label": `select ${d.id}` });
        return el(
          "tr",
          { "data-record": d.id, "data-replayed": String(d.replayed) },
          el("td", {}, box),
          el("td", {}, d.id),
          el("td", {}, d.stage),
          el("td", {}, `${d.code ? `${d.code}: ` : ""}${d.error}`),
          el("td", {}, String(d.attempts)),
          el("td", {}, d.ts),
          el("td", {}, d.replayed ? "yes" : "–"),
          el(
            "td",
            {},
            Object.entries(d.headers)
              .map(([k, v]) => `${k}=${v}`)
              .join(" "),
          ),
        );
      }),
    );
}

async function replay(body: { ids?: string[]; all?: boolean }): Promise<void> {
  const pipeline = ($("dlq-pipeline") as HTMLSelectElement).value;
  const out = $("replay-result");
  out.textContent = "replaying…";
  const res = await fetch(`api/pipelines/${encodeURIComponent(pipeline)}/dead-letters/replay`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token() ? { authorization: `Bearer ${token()}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const result = (await res.json()) as ConsoleReplayResult & { error?: string };
  if (!res.ok) {
    out.textContent = `refused: ${result.error ?? res.status}`;
    return;
  }
  const delivered = result.outcomes.filter((r) => r.outcome === "delivered").length;
  out.textContent = [
    `${delivered} delivered, ${result.outcomes.length - delivered} failed, ${result.skipped} already replayed (through sidecar ${result.sidecar})`,
    ...result.outcomes.map(
      (r) => `${r.outcome} ${r.id} at ${r.stage}${r.reason ? `: ${r.code}: ${r.reason}` : ""}`,
    ),
  ].join("\n");
  await loadDeadLetters();
}

$("dlq-form").addEventListener("submit", (e) => {
  e.preventDefault();
  dlqOffset = 0;
  void loadDeadLetters();
});
$("dlq-prev").addEventListener("click", () => {
  dlqOffset = Math.max(0, dlqOffset - DLQ_PAGE);
  void loadDeadLetters();
});
$("dlq-next").addEventListener("click", () => {
  dlqOffset += DLQ_PAGE;
  void loadDeadLetters();
});
$("dlq-replay-selected").addEventListener("click", () => {
  const ids = [...document.querySelectorAll<HTMLInputElement>("#dlq tbody input:checked")].map(
    (b) => b.value,
  );
  if (ids.length > 0) void replay({ ids });
});
$("dlq-replay-all").addEventListener("click", () => void replay({ all: true }));

connect();
