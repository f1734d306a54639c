/**
 * Test- and bench-controlled waits inside MCP tools: a tool waits on a named latch until its
 * driver opens it (or the request's signal aborts), so no test or bench sleeps to "let work run".
 */
export class Latches {
  private readonly latches = new Map<string, { promise: Promise<void>; open: () => void }>();

  private get(name: string) {
    let latch = this.latches.get(name);
    if (latch === undefined) {
      let open = () => undefined as void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      latch = { promise, open };
      this.latches.set(name, latch);
    }
    return latch;
  }

  wait(name: string, signal: AbortSignal): Promise<void> {
    const { promise } = this.get(name);
    return new Promise((resolve) => {
      void promise.then(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  open(name: string): void {
    this.get(name).open();
  }

  /** What tools noted (e.g. `aborted:<latch>`), in order. */
  readonly notes: string[] = [];
}
