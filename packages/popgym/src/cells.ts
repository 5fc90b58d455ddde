/** Grid cell codes, as in POPGym's `Cell` enum. `Hidden` only ever appears in observation spaces. */
export const Cell = { Free: 0, Wall: 1, Start: 2, Goal: 3, Hidden: 4 } as const;
export type CellCode = (typeof Cell)[keyof typeof Cell];

/** Number of cell codes (the categories of each window entry). */
export const NUM_CELL_CODES = 5;

/** Actions, as in POPGym's `Actions` enum. `None` is only an observation value (the action at reset). */
export const Action = { Left: 0, Right: 1, Up: 2, Down: 3, None: 4 } as const;
export type ActionCode = (typeof Action)[keyof typeof Action];

/** Number of actions an agent can take (None excluded). */
export const NUM_ACTIONS = 4;

/** Length of the paper's flattened observation: 9 window one-hots of 5, env action of 5, previous action of 4, first-step flag of 2. */
export const PAPER_OBS_DIM = 9 * NUM_CELL_CODES + NUM_CELL_CODES + NUM_ACTIONS + 2;

export type LabyrinthKind = "escape" | "explore";
