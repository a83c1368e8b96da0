// `npm run bench` runs every benchmark and prints a summary table; `npm run bench -- NAME…`
// runs the named ones (create, lifecycle, timeouts, metrics, rss). Benchmarks are not
// tests: a MISS is reported, not failed on. The exit code is 1 only when a benchmark
// could not run (an error), 2 for an unknown name.

import { performance } from 'node:perf_hooks';
import { cpus, loadavg } from 'node:os';
import { createThroughput } from './create-throughput.ts';
import { lifecycle } from './lifecycle.ts';
import { timeouts } from './timeouts.ts';
import { metricsQueries } from './metrics-queries.ts';
import { memory } from './memory.ts';
import { fmt, type BenchResult, type Benchmark } from './lib.ts';

const ALL: Benchmark[] = [createThroughput, lifecycle, timeouts, metricsQueries, memory];

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => [...row[column]!].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<number> {
  const names = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = names.filter((name) => !ALL.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const selected = names.length === 0 ? ALL : ALL.filter((bench) => names.includes(bench.name));
  const cpu = cpus();
  console.log(`cortex bench: node ${process.version}, ${cpu.length} cores (${cpu[0]?.model ?? '?'}), loopback 127.0.0.1`);

  const results: BenchResult[] = [];
  let failed = 0;
  const began = performance.now();
  for (const bench of selected) {
    console.log(`\n== ${bench.name}: ${bench.title} (load average ${loadavg().map((n) => fmt(n, 2)).join(' ')})`);
    const t0 = performance.now();
    try {
      const rows = await bench.run((line) => console.log(`  ${line}`));
      results.push(...rows);
    } catch (error) {
      failed++;
      console.log(`  ERROR: ${(error as Error).stack ?? String(error)}`);
      results.push({ bench: bench.name, metric: 'ERROR', value: (error as Error).message.slice(0, 80), target: '', pass: null });
    }
    console.log(`  (${fmt((performance.now() - t0) / 1000, 1)} s)`);
  }

  console.log(`\n== summary (${fmt((performance.now() - began) / 1000, 0)} s)\n`);
  const rows = [['benchmark', 'measured', 'value', 'target', 'result', 'other load']];
  for (const r of results) {
    const result = r.metric === 'ERROR' ? 'ERROR' : r.pass === null ? 'info' : r.pass ? 'PASS' : 'MISS';
    rows.push([r.bench, r.metric, r.value, r.target, result, r.otherLoad === undefined ? '' : `${fmt(r.otherLoad, 2)} cores`]);
  }
  console.log(table(rows));
  const misses = results.filter((r) => r.pass === false).length;
  console.log(`\n${results.filter((r) => r.pass === true).length} PASS, ${misses} MISS${failed ? `, ${failed} ERROR` : ''}`);
  console.log(`'other load': CPU that other processes used during the measurement, in cores of ${cpu.length}; rates and latencies suffer when it is high.`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
