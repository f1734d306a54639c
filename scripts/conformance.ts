/**
 * `npm run conformance`: the official MCP conformance suite against the example server, run as two
 * instances behind a round-robin proxy with no stickiness, so every session's requests alternate
 * between processes that share nothing but the session service. Starts it all (see
 * scripts/conformance/stack.ts) on free ports, runs the suite on the Node 22 the tool project
 * .ci/conformance pins, prints a summary, stops everything, and exits 1 on any failed check.
 *
 * `npm run conformance -- --scenario tools-call-image` runs the suite with those arguments instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StackRunner, dataDirIn, INSTANCES } from './conformance/stack.js';
import { missingSuite, runPassed, runSuite, tally, type RunOutcome, type RunningSuite, type SuiteRun } from './conformance/suite.js';

/** What CI runs: every scenario of the 2025-11-25 spec, then SSE polling (SEP-1699) on its own. */
const DEFAULT_RUNS: readonly SuiteRun[] = [
  { label: 'server --spec-version 2025-11-25', args: ['--spec-version', '2025-11-25'] },
  { label: 'server --scenario server-sse-polling', args: ['--scenario', 'server-sse-polling'] },
];

const runner = new StackRunner();
let suite: RunningSuite | undefined;
/** Set once the harness is stopping (Ctrl-C, a failure): the runs do not go on. */
let stopping = false;
/** Holds DynamoDB Local's data (live session ids of the run) and the suite's results. */
let tempDir: string | undefined;
/** Set when a finished run failed: its results stay for a look; anything else is removed. */
let keepResults = false;

/** Stops everything, then exits; a second call (Ctrl-C again) exits at once. */
async function shutdown(code: number, message?: string): Promise<never> {
  if (!stopping) {
    stopping = true;
    if (message) console.error(message);
    suite?.kill();
    await runner.stop().catch(() => undefined);
  }
  return process.exit(code);
}

function printOutcome(outcome: RunOutcome): void {
  const { passed, failed, warnings, failures } = tally(outcome);
  const mark = runPassed(outcome) ? '✓' : '✗';
  const extra = [
    warnings > 0 ? `${warnings} warnings` : '',
    passed === 0 ? 'no check passed: nothing was verified' : '',
    outcome.exitCode === 0 ? '' : `suite exit code ${outcome.exitCode ?? 'none (killed)'}`,
  ].filter(Boolean);
  console.log(`${mark} ${outcome.label}: ${outcome.scenarios.length} scenarios, ${passed} passed, ${failed} failed${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`);
  for (const failure of failures) console.log(`    ${failure}`);
}

async function main(): Promise<void> {
  const missing = missingSuite();
  if (missing !== undefined) {
    console.error(missing);
    process.exit(1);
  }
  const extraArgs = process.argv.slice(2);
  const runs = extraArgs.length > 0 ? [{ label: `server ${extraArgs.join(' ')}`, args: extraArgs }] : DEFAULT_RUNS;
  const dir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  tempDir = dir;

  const stack = await runner.start(dataDirIn(dir));
  if (stopping) return;
  console.log(`Conformance suite against ${stack.mcpUrl}: a round-robin proxy over example instances ${INSTANCES.join(' and ')}, sessions in the local session service`);

  const outcomes: RunOutcome[] = [];
  for (const [index, run] of runs.entries()) {
    const outputDir = join(dir, `run-${index + 1}`);
    mkdirSync(outputDir);
    console.log(`\n${run.label}`);
    suite = runSuite(stack.mcpUrl, run, outputDir, (scenario) => console.log(`  ${scenario}`));
    const outcome = await suite.done;
    suite = undefined;
    // Interrupted: the signal handler is stopping everything and exits; no summary of a cut run.
    if (stopping) return;
    outcomes.push(outcome);
  }
  const forwarded = stack.proxy.forwarded.map((count, index) => `${count} to ${INSTANCES[index] ?? index}`).join(', ');
  await runner.stop();

  console.log('\n=== Conformance summary ===');
  for (const outcome of outcomes) printOutcome(outcome);
  console.log(`Proxy forwarded ${forwarded}.`);
  if (outcomes.every(runPassed)) return shutdown(0);
  keepResults = true;
  // What the servers said (warnings, errors) next to what the suite saw.
  const serverLog = join(dir, 'servers.log');
  writeFileSync(serverLog, runner.outputs().map(({ name, output }) => `=== ${name}\n${output}`).join('\n'));
  console.log(`Details: ${[...outcomes.map((outcome) => outcome.logFile), serverLog].join(', ')}`);
  return shutdown(1);
}

process.on('SIGINT', () => void shutdown(130, '\nSIGINT: stopping'));
process.on('SIGTERM', () => void shutdown(143, '\nSIGTERM: stopping'));
process.on('SIGHUP', () => void shutdown(129, '\nSIGHUP: stopping'));
// Any exit, however it comes (a signal twice - tsx passes Ctrl-C on too - exits at once): nothing
// this started keeps running, and only a failed run's results stay on disk.
process.on('exit', () => {
  suite?.kill();
  runner.killNow();
  if (tempDir !== undefined) rmSync(keepResults ? dataDirIn(tempDir) : tempDir, { recursive: true, force: true });
});
// Whatever started us (tsx, npm) is gone without a chance to signal us: stop rather than run on.
const parentPid = process.ppid;
setInterval(() => {
  if (process.ppid !== parentPid) void shutdown(1, 'npm run conformance: the process that started this one is gone; stopping.');
}, 1000).unref();

main().catch((error: unknown) => {
  // Failing while stopping (a process ended by the signal): the signal handler decides the exit.
  if (!stopping) void shutdown(1, `npm run conformance failed: ${error instanceof Error ? error.message : String(error)}`);
});
