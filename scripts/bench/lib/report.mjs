/**
 * Turns the runs into medians, ratios and Markdown. Only valid runs (every answer 2xx, no
 * socket errors, tokens never ran out) count in a median; the others are listed, not hidden.
 */

export const SCENARIOS = [
  { id: 'issue', title: 'GET /tokens?scope=orders.create', roundTrips: 1 },
  { id: 'first-use', title: 'POST /orders, first use', roundTrips: 2 },
  { id: 'replay', title: 'POST /orders, replay of a used token', roundTrips: 1 },
];

/** The targets of docs/PERFORMANCE.md. */
const TARGETS = { minRatio: 0.85, maxP99Ms: 10, maxBytesPerToken: 200 };

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarizeServer(runs) {
  const valid = runs.filter((run) => run.valid);
  const of = (pick) => median(valid.map(pick));
  return {
    runs: runs.length,
    validRuns: valid.length,
    requestsPerSecond: of((run) => run.requestsPerSecond),
    p50Ms: of((run) => run.latencyMs.p50),
    p99Ms: of((run) => run.latencyMs.p99),
    requestsPerServerCpuSecond: of((run) => run.requestsPerServerCpuSecond),
    serverCpuShare: of((run) => run.serverCpuSeconds / run.durationSeconds),
    redisCpuShare: of((run) => run.redisCpuSeconds / run.durationSeconds),
    loaderCpuShare: of((run) => run.loaderCpuSeconds / run.durationSeconds),
    scriptCallsPerRequest: of((run) => run.scriptCallsPerRequest),
    non2xx: runs.reduce((sum, run) => sum + run.non2xx, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

const ratio = (a, b) => (a === undefined || b === undefined || b === 0 ? undefined : a / b);

export function summarize(runs) {
  return SCENARIOS.map(({ id, title, roundTrips }) => {
    const service = summarizeServer(
      runs.filter((run) => run.scenario === id && run.server === 'service'),
    );
    const raw = summarizeServer(runs.filter((run) => run.scenario === id && run.server === 'raw'));
    return {
      scenario: id,
      title,
      expectedRoundTrips: roundTrips,
      service,
      raw,
      rpsRatio: ratio(service.requestsPerSecond, raw.requestsPerSecond),
      cpuEfficiencyRatio: ratio(service.requestsPerServerCpuSecond, raw.requestsPerServerCpuSecond),
    };
  });
}

const fmt = (value, digits = 0) =>
  value === undefined
    ? 'n/a'
    : value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
const pct = (value) => (value === undefined ? 'n/a' : `${Math.round(value * 100)} %`);

export function resultsTable(summary) {
  const lines = [
    '| scenario | req/s service | req/s raw | service / raw | p99 ms service | p99 ms raw | req per CPU-s service | req per CPU-s raw | service / raw | Redis calls per req (service, raw) | valid runs (service, raw) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of summary) {
    const { service: s, raw: r } = row;
    lines.push(
      `| ${row.title} | ${fmt(s.requestsPerSecond)} | ${fmt(r.requestsPerSecond)} | ${fmt(row.rpsRatio, 2)} | ${fmt(s.p99Ms)} | ${fmt(r.p99Ms)} ` +
        `| ${fmt(s.requestsPerServerCpuSecond)} | ${fmt(r.requestsPerServerCpuSecond)} | ${fmt(row.cpuEfficiencyRatio, 2)} ` +
        `| ${fmt(s.scriptCallsPerRequest, 2)}, ${fmt(r.scriptCallsPerRequest, 2)} | ${s.validRuns}/${s.runs}, ${r.validRuns}/${r.runs} |`,
    );
  }
  return lines.join('\n');
}

/** Where the CPU went: on a 2-core machine the load generator and Redis compete with the server. */
export function cpuTable(summary) {
  const lines = [
    '| scenario | server CPU (service, raw) | Redis CPU (service run, raw run) | load generator CPU (service run, raw run) |',
    '|---|---|---|---|',
  ];
  for (const { title, service: s, raw: r } of summary) {
    lines.push(
      `| ${title} | ${pct(s.serverCpuShare)}, ${pct(r.serverCpuShare)} | ${pct(s.redisCpuShare)}, ${pct(r.redisCpuShare)} | ${pct(s.loaderCpuShare)}, ${pct(r.loaderCpuShare)} |`,
    );
  }
  return `${lines.join('\n')}\n\n(100 % = one core busy for the whole run.)`;
}

export function memoryTable(memory) {
  if (!memory) return '_Memory not measured (BENCH_MEMORY=0)._';
  const row = (label, m) =>
    `| ${label} | ${fmt(m.tokens)} | ${fmt(m.bytesPerToken, 1)} | ${fmt(m.tokenKeyBytesPerToken, 1)} | ${fmt(m.limiterBytesPerToken, 1)} | ${m.limiterZsetEncoding} | ${m.memoryUsageOfOneTokenKey ?? 'n/a'} |`;
  const o = memory.outcomes;
  return [
    '| unused tokens | tokens | bytes per token | token string key | limiter zset entries (g + h) | zset encoding | MEMORY USAGE of one token key |',
    '|---|---:|---:|---:|---:|---|---:|',
    row(
      `${fmt(memory.spread.callers)} callers × ${fmt(memory.spread.tokensPerCaller)}`,
      memory.spread,
    ),
    row(
      `${fmt(memory.oneCaller.callers)} caller × ${fmt(memory.oneCaller.tokensPerCaller)}`,
      memory.oneCaller,
    ),
    '',
    '| stored outcomes | count | bytes per outcome | outcome text bytes | marker hash encoding | MEMORY USAGE of one marker |',
    '|---|---:|---:|---:|---|---:|',
    `| consumed token + typical POST /orders answer | ${fmt(o.outcomes)} | ${fmt(o.bytesPerOutcome, 1)} | ${fmt(o.outcomeStringBytes)} | ${o.markerEncoding} | ${o.memoryUsageOfOneMarker ?? 'n/a'} |`,
  ].join('\n');
}

/** One line per target of docs/PERFORMANCE.md: met, missed, or not measurable from this run. */
export function targetChecks(summary, memory, { connections, rate }) {
  const byId = Object.fromEntries(summary.map((row) => [row.scenario, row]));
  const verdict = (value, ok) => (value === undefined ? 'n/a' : ok ? 'met' : 'MISSED');
  const lines = [];
  for (const id of ['issue', 'first-use']) {
    const row = byId[id];
    const ratioVerdict =
      rate > 0
        ? 'not measurable at a fixed rate (both servers answer the rate)'
        : verdict(row.rpsRatio, row.rpsRatio >= TARGETS.minRatio);
    lines.push(
      `- ${row.title}: service / raw req/s = ${fmt(row.rpsRatio, 2)} (target ≥ ${TARGETS.minRatio}): ${ratioVerdict}`,
    );
  }
  const load =
    rate > 0
      ? `${connections} connections, ${fmt(rate)} req/s`
      : `${connections} connections, flat out`;
  for (const row of summary) {
    const p99 = row.service.p99Ms;
    lines.push(
      `- ${row.title}: service p99 = ${fmt(p99)} ms at ${load} (target < ${TARGETS.maxP99Ms} ms): ${verdict(p99, p99 < TARGETS.maxP99Ms)}`,
    );
  }
  // Round trips are whole numbers; the measured figure reads a little high because the server
  // answered requests that autocannon stopped counting (up to one per connection), so round it.
  for (const id of ['issue', 'first-use']) {
    const row = byId[id];
    const calls = row.service.scriptCallsPerRequest;
    lines.push(
      `- ${row.title}: ${fmt(calls, 2)} Redis round trips per request (target ${row.expectedRoundTrips}): ${verdict(calls, Math.round(calls) === row.expectedRoundTrips)}`,
    );
  }
  const bytes = memory?.spread.bytesPerToken;
  lines.push(
    `- Redis memory per unused token (1 000 callers): ${fmt(bytes, 1)} bytes (target ≤ ${TARGETS.maxBytesPerToken}): ${verdict(bytes, bytes <= TARGETS.maxBytesPerToken)}`,
  );
  return lines.join('\n');
}

/** Runs that do not count, and why; empty when every run was clean. */
export function invalidRuns(runs) {
  return runs
    .filter((run) => !run.valid)
    .map(
      (run) => `- round ${run.round}, ${run.scenario}, ${run.server}: ${run.problems.join('; ')}`,
    )
    .join('\n');
}
