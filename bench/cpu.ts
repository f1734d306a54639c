import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU time (user + system, ms) a process and all its descendants have used so far; Linux /proc. */
export function treeCpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ticks = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const current = stack.pop() ?? 0;
    try {
      // Fields after the ")" that closes the command name: utime is the 12th, stime the 13th.
      const fields = readFileSync(`/proc/${current}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
      for (const task of readdirSync(`/proc/${current}/task`)) {
        const children = readFileSync(`/proc/${current}/task/${task}/children`, 'utf8').trim();
        if (children) stack.push(...children.split(' ').map(Number));
      }
    } catch {
      // The process ended while being read: its time is gone with it.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
