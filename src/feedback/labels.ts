/** The labels jit-access sets on a request PR, one per stage a grant reaches. */
export const LABELS = { granted: "jit:granted", expired: "jit:expired", revoked: "jit:revoked", breakGlass: "jit:break-glass" } as const;
