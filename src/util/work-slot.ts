import { AsyncLocalStorage } from "node:async_hooks";

/**
 * A slot of bounded concurrency that a piece of work gives back before it ends: the webhook inbox
 * runs each delivery holding one of its slots (`holdingSlot`), and the delivery gives it back
 * (`leaveSlot`) once all it has left to do is wait for its paced writes to GitHub, which take
 * seconds in a busy installation (one write a second, comments three seconds apart). The slots
 * then bound the work that reads GitHub and uses the CPU, not the work that only waits its turn,
 * so one busy installation does not hold back the deliveries of others.
 */
const slots = new AsyncLocalStorage<() => void>();

/** Runs `work` holding a slot: `leave` is called once, at `leaveSlot` or when `work` ends, whichever is first. */
export async function holdingSlot<T>(leave: () => void, work: () => Promise<T>): Promise<T> {
  let left = false;
  const once = (): void => {
    if (left) return;
    left = true;
    leave();
  };
  try {
    return await slots.run(once, work);
  } finally {
    once();
  }
}

/** Gives back the slot the current work holds, if any (a no-op outside `holdingSlot`, or when given back already). */
export function leaveSlot(): void {
  slots.getStore()?.();
}
