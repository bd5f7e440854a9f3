/**
 * Turns the runs into medians, ratios and Markdown, one column per server. Only valid runs
 * (every answer of an accepted status, no socket errors, tokens never ran out) count in a
 * median; the others are listed, not hidden.
 */

/** The targets of docs/PERFORMANCE.md that are not ratios. */
const TARGETS = { maxP99Ms: 10, maxBytesPerToken: 150, maxBytesPerOutcome: 350 };

/**
 * Requests per server CPU-second of one [scenario, server] against another's: the service
 * against the peer and the bare app, and against itself with 1 000 callers.
 */
const RATIO_TARGETS = [
  {
    label: 'first use: service / peer',
    of: ['first-use', 'service'],
    over: ['first-use', 'peer'],
    min: 1.5,
  },
  {
    label: 'replay: service / peer',
    of: ['replay', 'service'],
    over: ['replay', 'peer'],
    min: 1.2,
  },
  { label: 'issue: service / bare', of: ['issue', 'service'], over: ['issue', 'bare'], min: 0.8 },
  {
    label:
      'issue with 1 000 callers / with one caller, service (the limiter must not get slower as callers grow)',
    of: ['issue-1000-callers', 'service'],
    over: ['issue', 'service'],
    min: 0.9,
  },
];

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarizeServer(runs, accepted) {
  const valid = runs.filter((run) => run.valid);
  const of = (pick) => median(valid.map(pick));
  return {
    runs: runs.length,
    validRuns: valid.length,
    requestsPerSecond: of((run) => run.requestsPerSecond),
    answersPerSecond: Object.fromEntries(
      accepted.map((status) => [
        status,
        of((run) => (run.statusCodes[status]?.count ?? 0) / run.durationSeconds),
      ]),
    ),
    p50Ms: of((run) => run.latencyMs.p50),
    p99Ms: of((run) => run.latencyMs.p99),
    requestsPerServerCpuSecond: of((run) => run.requestsPerServerCpuSecond),
    serverCpuShare: of((run) => run.serverCpuSeconds / run.durationSeconds),
    redisCpuShare: of((run) => run.redisCpuSeconds / run.durationSeconds),
    loaderCpuShare: of((run) => run.loaderCpuSeconds / run.durationSeconds),
    roundTripsPerRequest: of((run) => run.roundTripsPerRequest),
  };
}

/**
 * One row per scenario; in it, per server of `columns`, the medians of its runs, or undefined
 * where the server has no such scenario.
 */
export function summarize(runs, scenarios, columns) {
  return scenarios.map(({ id, title, roundTrips, accepted }) => ({
    scenario: id,
    title,
    expectedRoundTrips: roundTrips,
    accepted,
    servers: Object.fromEntries(
      columns.map((name) => {
        const own = runs.filter((run) => run.scenario === id && run.server === name);
        return [name, own.length > 0 ? summarizeServer(own, accepted) : undefined];
      }),
    ),
  }));
}

/** A figure with `digits` decimals and thousands separators; `n/a` for none (or not a number). */
export const fmt = (value, digits = 0) =>
  value === undefined || !Number.isFinite(value)
    ? 'n/a'
    : value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
const pct = (value) => (value === undefined ? 'n/a' : `${Math.round(value * 100)} %`);
const NONE = '—';

/** A figure of each server, `—` where it has no such scenario. */
const perServer = (row, columns, show) =>
  columns.map((name) => (row.servers[name] === undefined ? NONE : show(row.servers[name])));

export const tableRow = (cells) => `| ${cells.join(' | ')} |`;

export function resultsTable(summary, columns) {
  const list = columns.join(', ');
  const lines = [
    tableRow([
      'scenario',
      ...columns.map((name) => `req per CPU-s ${name}`),
      ...columns.map((name) => `req/s ${name}`),
      `p99 ms (${list})`,
      `Redis round trips per req (${list})`,
      `valid runs (${list})`,
    ]),
    `|---|${columns.map(() => '---:|').join('')}${columns.map(() => '---:|').join('')}---|---|---|`,
  ];
  for (const row of summary) {
    lines.push(
      tableRow([
        row.title,
        ...perServer(row, columns, (s) => fmt(s.requestsPerServerCpuSecond)),
        ...perServer(row, columns, (s) => fmt(s.requestsPerSecond)),
        perServer(row, columns, (s) => fmt(s.p99Ms)).join(', '),
        perServer(row, columns, (s) => fmt(s.roundTripsPerRequest, 2)).join(', '),
        perServer(row, columns, (s) => `${s.validRuns}/${s.runs}`).join(', '),
      ]),
    );
  }
  return lines.join('\n');
}

/** Scenarios where more than one status is a right answer: how many of each, per second. */
export function statusTable(summary, columns) {
  const rows = summary.filter((row) => row.accepted.length > 1);
  if (rows.length === 0) return undefined;
  return [
    tableRow(['scenario, answers per second by status', ...columns]),
    `|---|${columns.map(() => '---|').join('')}`,
    ...rows.map((row) =>
      tableRow([
        row.title,
        ...perServer(row, columns, (s) =>
          row.accepted.map((status) => `${status}: ${fmt(s.answersPerSecond[status])}`).join(' · '),
        ),
      ]),
    ),
  ].join('\n');
}

/** Where the CPU went: on a 2-core machine the load generator and Redis compete with the server. */
export function cpuTable(summary, columns) {
  const list = columns.join(', ');
  const lines = [
    tableRow([
      'scenario',
      `server CPU (${list})`,
      `Redis CPU (${list})`,
      `load generator CPU (${list})`,
    ]),
    '|---|---|---|---|',
  ];
  for (const row of summary) {
    lines.push(
      tableRow([
        row.title,
        ...['serverCpuShare', 'redisCpuShare', 'loaderCpuShare'].map((field) =>
          perServer(row, columns, (s) => pct(s[field])).join(', '),
        ),
      ]),
    );
  }
  return `${lines.join('\n')}\n\n(100 % = one core busy for the whole run.)`;
}

export function memoryTable(memory) {
  if (!memory) return '_Memory not measured (BENCH_MEMORY=0)._';
  const row = (label, m) =>
    `| ${label} | ${fmt(m.tokens)} | ${fmt(m.bytesPerToken, 1)} | ${fmt(m.heldBytesPerToken, 1)} | ${fmt(m.grantsBytesPerToken, 1)} | ${m.zsetEncoding} | ${m.memoryUsageOfOneHeldSet ?? 'n/a'} |`;
  const o = memory.outcomes;
  return [
    "| unused tokens | tokens | bytes per token | held set (h: the tokens) | grants set (g) | zset encoding | MEMORY USAGE of one caller's held set |",
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
    '| stored outcomes | count | bytes per outcome | outcome text bytes | marker encoding | MEMORY USAGE of one marker |',
    '|---|---:|---:|---:|---|---:|',
    `| consumed token + typical POST /orders answer | ${fmt(o.outcomes)} | ${fmt(o.bytesPerOutcome, 1)} | ${fmt(o.outcomeStringBytes)} | ${o.markerEncoding} | ${o.memoryUsageOfOneMarker ?? 'n/a'} |`,
  ].join('\n');
}

const verdict = (value, ok) => (value === undefined ? 'n/a' : ok ? 'met' : 'MISSED');

/**
 * A ratio target's figure in each round: the two runs of a round follow each other within
 * seconds, so their ratio is spared most of the drift between rounds (the host's other
 * tenants move every server's figures together, by ±20-30 % from minute to minute).
 */
function ratiosByRound(runs, [ofScenario, ofServer], [overScenario, overServer]) {
  const figure = (round, scenario, server) =>
    runs.find(
      (run) =>
        run.valid && run.round === round && run.scenario === scenario && run.server === server,
    )?.requestsPerServerCpuSecond;
  const rounds = [...new Set(runs.map((run) => run.round))].sort((a, b) => a - b);
  return rounds
    .map((round) => figure(round, ofScenario, ofServer) / figure(round, overScenario, overServer))
    .filter((ratio) => Number.isFinite(ratio));
}

/**
 * One line per target of docs/PERFORMANCE.md: met, MISSED, or n/a (not measured in this run).
 * A ratio's verdict is on the median of its rounds' ratios; the ratio of the medians is shown too.
 */
export function targetChecks(summary, memory, { connections, rate }, runs) {
  const figure = ([scenario, server]) =>
    summary.find((row) => row.scenario === scenario)?.servers[server]?.requestsPerServerCpuSecond;
  const lines = RATIO_TARGETS.map(({ label, of, over, min }) => {
    const [a, b] = [figure(of), figure(over)];
    const ofMedians = a === undefined || b === undefined || b === 0 ? undefined : a / b;
    const byRound = ratiosByRound(runs, of, over);
    const ratio = median(byRound);
    return (
      `- ${label}: ${fmt(ratio, 2)} (median of the rounds: ${byRound.map((r) => fmt(r, 2)).join(', ') || 'none'}; ` +
      `ratio of the medians ${fmt(a)} / ${fmt(b)} requests per server CPU-second = ${fmt(ofMedians, 2)}) ` +
      `(target ≥ ${min}): ${verdict(ratio, ratio >= min)}`
    );
  });
  // Round trips are whole numbers; the measured figure reads a little high because the server
  // answered requests that autocannon stopped counting (up to one per connection), so round it.
  for (const row of summary) {
    const trips = row.servers.service?.roundTripsPerRequest;
    lines.push(
      `- ${row.title}: service ${fmt(trips, 2)} Redis round trips per request (target ${row.expectedRoundTrips}): ${verdict(trips, Math.round(trips) === row.expectedRoundTrips)}`,
    );
  }
  const load =
    rate > 0
      ? `${connections} connections, ${fmt(rate)} req/s`
      : `${connections} connections, flat out`;
  for (const row of summary) {
    const p99 = row.servers.service?.p99Ms;
    lines.push(
      `- ${row.title}: service p99 = ${fmt(p99)} ms at ${load} (target < ${TARGETS.maxP99Ms} ms): ${verdict(p99, p99 < TARGETS.maxP99Ms)}`,
    );
  }
  const perToken = memory?.spread.bytesPerToken;
  lines.push(
    `- Redis memory per unused token with its limiter entries (1 000 callers): ${fmt(perToken, 1)} bytes (target ≤ ${TARGETS.maxBytesPerToken}): ${verdict(perToken, perToken <= TARGETS.maxBytesPerToken)}`,
  );
  const perOutcome = memory?.outcomes.bytesPerOutcome;
  lines.push(
    `- Redis memory per stored POST /orders outcome: ${fmt(perOutcome, 1)} bytes (target ≤ ${TARGETS.maxBytesPerOutcome}): ${verdict(perOutcome, perOutcome <= TARGETS.maxBytesPerOutcome)}`,
  );
  return lines.join('\n');
}

/** Runs that do not count, and why; empty when every run was clean. */
export function invalidRuns(runs) {
  return runs
    .filter((run) => !run.valid)
    .map(
      (run) => `- round ${run.round}, ${run.scenario}, ${run.process}: ${run.problems.join('; ')}`,
    )
    .join('\n');
}
