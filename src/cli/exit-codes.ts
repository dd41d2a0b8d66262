/** Exit codes shared by every command (CONTRACT.md). */
export const exitCodes = { ok: 0, failed: 1, usage: 2, retryLater: 75 } as const;
