/**
 * One gate for every check this process runs, whatever batch it belongs to (the main verification, the
 * honest judge's overlays beside it, the merge queue, parallel task attempts): an exclusive check waits
 * until no other check runs and then runs alone; while one waits, no new check starts (it is not starved).
 */
export class CheckGate {
  private shared = 0;
  private exclusiveHeld = false;
  private exclusiveWaiting = 0;
  private wakers: (() => void)[] = [];

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      await new Promise<void>((resolve) => {
        this.wakers.push(resolve);
      });
    }
  }

  /** Wait for a turn; the function returned ends it. */
  async enter(exclusive: boolean): Promise<() => void> {
    if (exclusive) {
      this.exclusiveWaiting += 1;
      await this.until(() => !this.exclusiveHeld && this.shared === 0);
      this.exclusiveWaiting -= 1;
      this.exclusiveHeld = true;
      return () => {
        this.exclusiveHeld = false;
        this.wake();
      };
    }
    await this.until(() => !this.exclusiveHeld && this.exclusiveWaiting === 0);
    this.shared += 1;
    return () => {
      this.shared -= 1;
      this.wake();
    };
  }
}

/** The gate of this process. */
export const checkGate = new CheckGate();
